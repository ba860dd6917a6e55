"""`mlbot watch`: judge the newest production window against production's own reference (docs/watch.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.train import TempfailOption, tempfail_exits
from bot.core.errors import UsageError


def _progress(line: str) -> None:
    typer.echo(line, err=True)


def watch(
    project: Annotated[Path, typer.Option("--project", "-p", metavar="DIR", help="Directory holding mlbot.yaml.")]
    = Path("."),
    window: Annotated[Path | None, typer.Option(
        "--window", metavar="FILE", help="Judge this CSV/Parquet file instead of watch.data / watch.command.")]
    = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="One of text, json.")] = "text",
    post: Annotated[bool, typer.Option("--post", help="In GitHub Actions: also open, update or close the "
                                       "watch issue of this model.")] = False,
    output: Annotated[Path | None, typer.Option(
        "--output", metavar="FILE", help="Also write the JSON summary to FILE (not written when there is "
        "nothing to watch).")] = None,
    refresh: Annotated[int | None, typer.Option(
        "--refresh", metavar="ISSUE", help="With --post, in the refresh job of mlbot-watch.yml: run watch.refresh "
        "and open a pull request for watch issue ISSUE (what /retrain there asks for); judges no window.")] = None,
    requested_by: Annotated[str, typer.Option(
        "--requested-by", metavar="LOGIN", help="Who commented /retrain (for --refresh).")] = "",
    tempfail_exit: TempfailOption = False,
) -> None:
    """Score the newest production window, measure drift, quality and metrics, log a monitoring run.

    Exits 1 when a blocking watch gate fails (unless a `/snooze` is in force), 0 otherwise (also when
    there is nothing to watch yet).
    """
    from bot.cli.registry import read_policies
    from bot.core.config import load_project
    from bot.core.watch_report import render_text
    from bot.service.settings import load_settings
    from bot.training.watch import NothingToWatch
    from bot.training.watch import watch as run_watch

    if format not in ("text", "json"):
        raise UsageError(f"--format {format!r} is not one of text, json")
    loaded = load_project(project)
    if loaded.config.watch is None:
        typer.echo("mlbot.yaml has no `watch:` section, so there is nothing to watch (docs/watch.md)", err=True)
        return
    settings = load_settings()
    if refresh is not None:
        if not post:
            raise UsageError("--refresh opens a pull request, so it needs --post",
                             hint="run it as the refresh job of mlbot-watch.yml does: mlbot watch --refresh N --post")
        from bot.service.actions_watch import refresh_in_actions

        typer.echo(refresh_in_actions(settings, loaded, refresh, requested_by or "someone"))
        return
    try:
        with tempfail_exits(tempfail_exit):
            result = run_watch(loaded, read_policies(loaded.root), settings.mlflow_tracking_uri, _progress,
                               window_path=window)
    except NothingToWatch as nothing:
        typer.echo(f"{nothing.message}; nothing to watch yet", err=True)
        return
    summary = result.summary
    if settings.mlflow_ui_url:
        from dataclasses import replace

        summary = replace(summary, run_url=f"{settings.mlflow_ui_url.rstrip('/')}/#/experiments/-/runs/"
                                           f"{result.run_id}")
    if output is not None:  # the local runner reads it here: its stdout and stderr arrive interleaved
        output.write_text(json.dumps(summary.to_json(), default=str), encoding="utf-8")
    if post:
        from bot.service.actions_watch import watch_in_actions

        outcome = watch_in_actions(settings, summary, close_after=loaded.config.watch.close_after)
        _progress(outcome)
    typer.echo(json.dumps(summary.to_json(), indent=2, default=str) if format == "json" else render_text(summary))
    if not summary.healthy and summary.snoozed_until is None:  # a snoozed watch does not fail the job
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(watch)
