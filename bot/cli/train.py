"""`mlbot train`, its two stages `mlbot fit` (untrusted) and `mlbot evaluate` (trusted), `mlbot check`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from bot.core.config import load_yaml
from bot.core.errors import Transient, UsageError


def parse_overrides(pairs: list[str], params_json: str | None) -> dict[str, Any]:
    """`--params JSON` then `--param k=v` (values read as YAML scalars: 3, 0.5, true, null, text)."""
    overrides: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except json.JSONDecodeError as error:
            raise UsageError(f"--params is not valid JSON ({error.msg})",
                             hint='pass an object such as --params \'{"max_depth": 4}\'') from None
        if not isinstance(loaded, dict):
            raise UsageError("--params must be a JSON object", hint='e.g. --params \'{"max_depth": 4}\'')
        overrides.update(loaded)
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {pair!r} is not of the form name=value",
                             hint="e.g. --param max_depth=4")
        try:
            value = load_yaml(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        overrides[name.strip()] = value
    return overrides


def _summary(result: Any) -> list[str]:
    has_production = result.production_metrics is not None
    header = f"{'metric':<14}{'candidate':>12}"
    header += f"{'production':>12}{'delta':>10}" if has_production else ""
    lines = [header]
    for name in result.metric_names:
        value = result.metrics.get(name)
        row = f"{name:<14}{_fmt(value):>12}"
        if has_production:
            before = result.production_metrics.get(name)
            delta = value - before if value is not None and before is not None else None
            row += f"{_fmt(before):>12}{_fmt(delta, signed=True):>10}"
        lines.append(row)
    return lines


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


TRIGGERS = ("pull_request", "command", "merge", "manual")
TempfailOption = Annotated[bool, typer.Option(
    "--tempfail-exit", hidden=True, help="Exit 75 when MLflow is unavailable (the local runner retries).")]


@contextmanager
def tempfail_exits(enabled: bool) -> Iterator[None]:
    """With `--tempfail-exit`: MLflow being down ends the command with exit code 75, which the local runner retries."""
    try:
        yield
    except Transient as error:
        if not enabled:
            raise
        from bot.cli import echo_error  # the boundary's own wording; imported late: it imports this module

        echo_error(error)
        raise typer.Exit(Transient.TEMPFAIL) from None


ProjectOption = Annotated[Path, typer.Option("--project", "-p", metavar="DIR", help="Directory with mlbot.yaml.")]
ParamOption = Annotated[list[str] | None, typer.Option(
    "--param", metavar="NAME=VALUE", help="Override a train param (repeatable).")]
ParamsOption = Annotated[str | None, typer.Option("--params", metavar="JSON", help="Overrides as one JSON object.")]
ShaOption = Annotated[str | None, typer.Option(metavar="SHA", help="The commit (default: the checkout's HEAD).")]
PrOption = Annotated[int | None, typer.Option(metavar="N", help="Pull request number, if any.")]
BranchOption = Annotated[str | None, typer.Option(metavar="BRANCH", help="Branch (default: the checkout's).")]
TriggerOption = Annotated[str, typer.Option(metavar="TRIGGER", help="Why: pull_request, command, merge or manual.")]
RepoOption = Annotated[str, typer.Option(metavar="OWNER/NAME", help="For the mlbot.repo tag.")]
CiUrlOption = Annotated[str, typer.Option("--ci-url", metavar="URL", help="Link to the CI job (mlbot.ci_url tag).")]


def _progress(line: str) -> None:
    typer.echo(f"mlbot: {line}", err=True)


def _request(project: Path, sha: str | None, pr: int | None, branch: str | None, trigger: str,
             overrides: dict[str, Any], repo: str, ci_url: str, force: bool = False) -> Any:
    from bot.training.train import TrainRequest, git_head

    if trigger not in TRIGGERS:
        raise UsageError(f"--trigger {trigger!r} is not one of {', '.join(TRIGGERS)}")
    head_sha, head_branch = git_head(project) if sha is None or branch is None else ("", "")
    return TrainRequest(project_dir=project, sha=sha if sha is not None else head_sha, pr=pr,
                        branch=branch if branch is not None else head_branch, trigger=trigger,
                        repo=repo, ci_url=ci_url, overrides=overrides, force=force, sha_from_head=sha is None)


def _print_result(result: Any, verb: str) -> None:
    if result.reused:
        typer.echo(f"reused run {result.run_id} (cache hit on key {result.cache_key[:12]}; "
                   "nothing new was logged; --force retrains)")
    else:
        baseline = f" against production v{result.baseline_version}" if result.baseline_version else ""
        typer.echo(f"{verb} run {result.run_id}{baseline}")
        for line in _summary(result):
            typer.echo(f"  {line}")
    typer.echo(f"run_id={result.run_id}")


def train(
    project: ProjectOption = Path("."),
    sha: ShaOption = None,
    pr: PrOption = None,
    branch: BranchOption = None,
    trigger: TriggerOption = "manual",
    param: ParamOption = None,
    params: ParamsOption = None,
    repo: RepoOption = "",
    ci_url: CiUrlOption = "",
    force: Annotated[bool, typer.Option("--force", help="Retrain even when a cached run matches.")] = False,
) -> None:
    """Train the candidate (fit in a child process), score it beside production, log it to MLflow."""
    from bot.service.settings import load_settings
    from bot.training.train import train as run_training

    request = _request(project, sha, pr, branch, trigger, parse_overrides(param or [], params), repo, ci_url,
                       force)
    result = run_training(request, load_settings().mlflow_tracking_uri, _progress)
    _print_result(result, "trained")


def fit(
    project: ProjectOption = Path("."),
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for model.skops and fit.json.")] = (
        Path("mlbot-model")),
    param: ParamOption = None,
    params: ParamsOption = None,
) -> None:
    """Fit stage (untrusted): fit the model and write it in the safe format; nothing else is touched."""
    from bot.service.settings import scrubbed_environment as environ
    from bot.training.fit import run_fit

    report = run_fit(project, parse_overrides(param or [], params), output, _progress, environ())
    typer.echo(f"fitted {report.estimator} in {report.train_seconds:.2f} s -> {output}")


def evaluate(
    project: ProjectOption = Path("."),
    model: Annotated[Path, typer.Option("--model", "-m", help="The fit stage's output directory.")] = (
        Path("mlbot-model")),
    config: Annotated[Path | None, typer.Option(
        "--config", help="The base branch's mlbot.yaml: eval data, target, metrics and slices.")] = None,
    policies: Annotated[Path | None, typer.Option(
        "--policies", help="The base branch's policies/ directory (checked against the metrics).")] = None,
    sha: ShaOption = None,
    pr: PrOption = None,
    branch: BranchOption = None,
    trigger: TriggerOption = "manual",
    param: ParamOption = None,
    params: ParamsOption = None,
    repo: RepoOption = "",
    ci_url: CiUrlOption = "",
    tempfail_exit: TempfailOption = False,
) -> None:
    """Evaluate stage (trusted): safe-load the fitted model, score it beside production, log to MLflow."""
    from bot.service.settings import load_settings
    from bot.training.evaluate import evaluate as run_evaluation
    from bot.training.evaluate import judged_project

    request = _request(project, sha, pr, branch, trigger, parse_overrides(param or [], params), repo, ci_url)
    if policies is not None:
        judged = judged_project(project, config).config
        _check_policies(policies.parent if policies.name == "policies" else policies, judged.metric_names,
                        judged.data.slices, judged.task)
    with tempfail_exits(tempfail_exit):
        result = run_evaluation(request, model, load_settings().mlflow_tracking_uri, _progress, config_file=config)
    _print_result(result, "evaluated")


def check(
    directory: Annotated[Path, typer.Argument(help="Repository holding mlbot.yaml.")] = Path("."),
) -> None:
    """Validate mlbot.yaml against its data and estimator; exit 2 listing every problem."""
    from bot.training.train import check_project

    project = check_project(directory)
    config = project.config
    policies = _check_policies(directory, config.metric_names, config.data.slices, config.task)
    mode = config.train.estimator if config.train.mode == "estimator" else f"command `{config.train.command}`"
    typer.echo(f"ok: {directory / 'mlbot.yaml'}: model {config.model} ({config.task}), {mode}, "
               f"metrics {', '.join(config.metric_names)}")
    typer.echo(f"ok: {policies}")


def _check_policies(directory: Path, metrics: list[str], slices: list[str], task: str) -> str:
    """Validate policies/*.yaml (or note the default policy); raise ConfigError listing problems."""
    from bot.core.errors import ConfigError
    from bot.core.policy import load_policies, policy_problems

    files = {f"policies/{p.name}": p.read_text() for p in sorted((directory / "policies").glob("*.y*ml"))}
    problems = policy_problems(files, metrics, slices, task)
    if problems:
        raise ConfigError(problems, hint="fix the policy files, then run `mlbot check` again")
    policy = load_policies(files)
    return (f"{len(policy.gates)} gates from mlbot's default policy (no policies/*.yaml)" if policy.is_default
            else f"{len(policy.gates)} gates in {', '.join(policy.files)}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command()(train)
    app.command()(fit)
    app.command()(evaluate)
    app.command()(check)
