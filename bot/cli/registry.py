"""`mlbot report`, `gates`, `promote`, `rollback`, `history`: judge a run and move the registry."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.core.errors import ConfigError, NotFound, Problem, UsageError

if TYPE_CHECKING:
    from bot.core.config import Project
    from bot.ports import LedgerEntry, Tracker
    from bot.service.settings import Settings
    from bot.usecases.assess import Assessment

ProjectOpt = Annotated[Path, typer.Option(
    "--project", "-p", metavar="DIR", help="Directory holding mlbot.yaml.")]
RunOpt = Annotated[str | None, typer.Option(
    "--run", metavar="RUN_ID", help="MLflow run id of the candidate (give one of --run/--sha).")]
ShaOpt = Annotated[str | None, typer.Option(
    "--sha", metavar="SHA", help="Commit whose newest run is the candidate (give one of --run/--sha).")]
ByOpt = Annotated[str | None, typer.Option(
    "--by", metavar="LOGIN", help="Who is doing this, for the ledger (default: you).")]
MARKS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "SKIPPED",
         "waived": "WAIVED"}


def _choice(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UsageError(f"--format {value!r} is not one of {', '.join(allowed)}")
    return value


def read_policies(root: Path) -> dict[str, str]:
    """The project's `policies/*.yaml` texts by relative path ({} means the default policy)."""
    folder = root / "policies"
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    try:
        return {f"policies/{path.name}": path.read_text(encoding="utf-8") for path in files}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([Problem(str(folder), "", f"cannot be read ({error})")]) from None


def policy_source(root: Path) -> str:
    """Where the gates came from, for the report's footer."""
    folder = (root / "policies").resolve()
    return f"{folder}/*.yaml" if read_policies(root) else "mlbot's default policy (no policies/*.yaml here)"


def _me() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid {os.getuid()}"


def _open(directory: Path, *, need_project: bool = True) -> tuple[Project | None, Tracker, Settings]:
    from bot.core.config import load_project
    from bot.service.composition import build_tracker
    from bot.service.settings import load_settings

    settings = load_settings()
    project = load_project(directory) if need_project else None
    return project, build_tracker(settings), settings


def _assess(directory: Path, run: str | None, sha: str | None) -> Assessment:
    from bot.usecases.assess import assess, resolve_run

    project, tracker, settings = _open(directory)
    assert project is not None
    run_id = resolve_run(project.config, tracker, run_id=run, sha=sha)
    return assess(project.config, run_id, tracker=tracker, policies=read_policies(project.root),
                  mlflow_url=settings.mlflow_ui_url, policy_source=policy_source(project.root))


def _warn_stale(assessment: Assessment) -> None:
    if assessment.stale:
        typer.echo(f"warning: {assessment.stale}; promoting it would be refused (re-run training)", err=True)


def report(
    project: ProjectOpt = Path("."), run: RunOpt = None, sha: ShaOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="One of md, text, json.")] = "md",
    post: Annotated[bool, typer.Option("--post", help="In GitHub Actions: also upsert the PR comment and "
                                       "the mlbot/gates check (config from the base branch).")] = False,
) -> None:
    """Compare a candidate with production, evaluate the gates and print the report."""
    from bot.core.report import render_json, render_markdown, render_text

    fmt = _choice(format, ("md", "text", "json"))
    if post:  # Actions-only mode: the PR comes from the event file, config from the base branch
        from bot.service.actions_mode import report_in_actions
        from bot.service.settings import load_settings

        posted = report_in_actions(load_settings(), run_id=run)
        if posted is None:
            typer.echo("a newer commit of this pull request is being judged; nothing posted", err=True)
            return
        assessment = posted
    else:
        assessment = _assess(project, run, sha)
    if fmt == "json":
        typer.echo(json.dumps(render_json(assessment.view), indent=2))
    else:
        typer.echo((render_markdown if fmt == "md" else render_text)(assessment.view).rstrip("\n"))
    _warn_stale(assessment)


def gates(
    project: ProjectOpt = Path("."), run: RunOpt = None, sha: ShaOpt = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="One of text, json.")] = "text",
) -> None:
    """Evaluate the gates; exit 0 when promotable, 1 when a blocking gate fails."""
    from bot.core.report import render_json
    from bot.usecases.assess import describe_gate

    fmt = _choice(format, ("text", "json"))
    assessment = _assess(project, run, sha)
    evaluation = assessment.evaluation
    if fmt == "json":
        typer.echo(json.dumps(render_json(assessment.view), indent=2))
    else:
        for result in evaluation.results:
            level = "" if result.severity == "block" else " (warn)"
            typer.echo(f"{MARKS[result.verdict]:<12} {describe_gate(result, verdict=False)}{level}")
        blocking = evaluation.blocking
        typer.echo("promotable" if not blocking
                   else f"not promotable: {len(blocking)} blocking gate(s) did not pass")
    _warn_stale(assessment)
    if not evaluation.promotable:
        raise typer.Exit(1)


def promote(
    project: ProjectOpt = Path("."), run: RunOpt = None, sha: ShaOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Override failing gates (needs --reason).")] = False,
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="Why; recorded in the ledger (required with --force).")] = "",
    by: ByOpt = None,
    pr: Annotated[int | None, typer.Option("--pr", metavar="N", help="Pull request number for the ledger.")] = None,
) -> None:
    """Promote a candidate run to production if every blocking gate passes."""
    from bot.usecases.assess import resolve_run
    from bot.usecases.promotion import promote_or_refuse

    if run is None and sha is None and not force:  # in Actions: the merged PR of the pushed commit
        from bot.service.actions_mode import promote_in_actions
        from bot.service.settings import load_settings

        merged = promote_in_actions(load_settings())
        if merged is not None:
            was = f"was v{merged.previous}" if merged.previous else "first promotion"
            moved = f"promoted {merged.model} v{merged.version} to {merged.alias} ({was})"
            typer.echo(moved if merged.changed else f"v{merged.version} already is {merged.alias}; no change")
            typer.echo(f"version={merged.version}")  # the promote action's output
            return
    loaded, tracker, settings = _open(project)
    assert loaded is not None
    run_id = resolve_run(loaded.config, tracker, run_id=run, sha=sha)
    decision = promote_or_refuse(loaded.config, run_id, tracker=tracker, by=by or _me(),
                                 policies=read_policies(loaded.root), force=force, reason=reason, pr=pr,
                                 mlflow_url=settings.mlflow_ui_url)
    if decision.refusal is not None:
        raise decision.refusal.error()
    done = decision.promotion
    assert done is not None
    if not done.changed:
        typer.echo(f"{done.model} v{done.version} already is {done.alias}; nothing changed")
        return
    was = f"was v{done.previous}" if done.previous else "first promotion"
    forced = " (forced)" if force else ""
    typer.echo(f"promoted {done.model} v{done.version} to {done.alias} ({was}){forced}")


def rollback(
    project: ProjectOpt = Path("."),
    to: Annotated[str | None, typer.Option(
        "--to", metavar="VERSION", help="Version to return to (promoted before).")] = None,
    reason: Annotated[str, typer.Option(
        "--reason", metavar="TEXT", help="Why; recorded in the ledger.  [required]")] = "",
    by: ByOpt = None,
) -> None:
    """Move production back to the previously promoted version (or --to VERSION)."""
    if not reason.strip():
        raise UsageError("a rollback needs a reason", hint='pass --reason "why"')
    loaded, tracker, _ = _open(project)
    assert loaded is not None
    done = tracker.rollback(loaded.config.model, by=by or _me(), reason=reason, to=to,
                            alias=loaded.config.promote.alias)
    typer.echo(f"rolled back {done.model} {done.alias} to v{done.version} (was v{done.previous}): {reason}")


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "action": entry.action, "version": entry.version, "previous": entry.previous,
            "at": entry.at, "by": entry.by, "reason": entry.reason, "sha": entry.sha, "pr": entry.pr,
            "run_id": entry.run_id, "forced": entry.forced, "note": entry.note}


def _entry_line(entry: LedgerEntry) -> str:
    move = f"{'v' + entry.previous if entry.previous else '-'} -> v{entry.version}"
    sha = (entry.sha or "-")[:10]
    pr = f"#{entry.pr}" if entry.pr is not None else "-"
    why = ("[forced] " if entry.forced else "") + (entry.reason or "-")
    return (f"{entry.seq:>4}  {entry.at:<25} {entry.action:<9} {move:<12} {sha:<10} {pr:<6} "
            f"{entry.by:<12} {why}")


def history(
    project: ProjectOpt = Path("."),
    model: Annotated[str | None, typer.Option(
        "--model", metavar="NAME", help="Registered model (default: from mlbot.yaml).")] = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="One of text, json.")] = "text",
) -> None:
    """List every promotion and rollback of the model, oldest first."""
    fmt = _choice(format, ("text", "json"))
    loaded, tracker, _ = _open(project, need_project=model is None)
    name = model or (loaded.config.model if loaded else "")
    try:
        entries = tracker.history(name)
    except NotFound:
        if model:  # a name typed on the command line: say it does not exist
            raise
        entries = []  # the project's model before its first promotion
    if fmt == "json":
        typer.echo(json.dumps({"model": name, "entries": [_entry_json(e) for e in entries]}, indent=2))
        return
    if not entries:
        typer.echo(f"{name}: nothing was promoted yet")
        return
    typer.echo(f"{'seq':>4}  {'at':<25} {'action':<9} {'move':<12} {'sha':<10} {'pr':<6} {'by':<12} reason")
    for entry in entries:
        typer.echo(_entry_line(entry))
        if entry.note:
            typer.echo(f"{'':>6}note: {entry.note}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    for command in (report, gates, promote, rollback, history):
        app.command()(command)
