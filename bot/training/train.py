"""`mlbot train`: fit in a child process, then evaluate here; `mlbot check`.

The run-cache is consulted first, before scikit-learn or mlflow are imported, so a hit is cheap.
The fit stage (the project's code) never runs in this process: it writes a model file in the safe
format, which the evaluate stage loads against an allow-list (SPEC §10).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.adapters.mlflow.probe import probe
from bot.core.config import Project, load_project, metric_problems
from bot.core.errors import ConfigError, MlbotError
from bot.training.requests import TrainRequest, TrainResult
from bot.training.runcache import project_cache_key, skipped

Progress = Callable[[str], None]

__all__ = ["TrainRequest", "TrainResult", "check_project", "git_head", "train"]


def git_head(directory: Path) -> tuple[str, str]:
    """The commit sha and branch of the checkout holding `directory` ("" when not a git checkout)."""
    def ask(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True,
                                  timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""
    return ask("rev-parse", "HEAD"), ask("branch", "--show-current")


def uncommitted(project: Project) -> list[str]:
    """The files under `train.inputs` that differ from HEAD (changed, staged or new): the run would not be HEAD's."""
    try:
        done = subprocess.run(["git", "-C", str(project.root), "status", "--porcelain", "-z", "--untracked-files=all",
                               "--", *project.config.input_paths], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    entries = iter(done.stdout.split("\0") if done.returncode == 0 else [])
    names = []
    for entry in entries:
        if len(entry) > 3:
            names.append(entry[3:])
            if entry[0] in "RC":  # a rename or copy: its source path follows as an entry of its own
                next(entries, None)
    return [name for name in names if not any(skipped(part) for part in Path(name).parts)]


def _commit_of(project: Project, request: TrainRequest, progress: Progress) -> None:
    """Refuse uncommitted inputs (HEAD's sha would name a model it does not describe); warn outside git."""
    if not request.sha_from_head:
        return  # the caller named the commit
    if not request.sha:
        progress(f"warning: {project.root.resolve()} is not in a git repository, so this run records no commit; "
                 "find it with `--run <run id>`, not `--sha`")
        return
    changed = uncommitted(project)
    if changed:
        shown = ", ".join(changed[:3]) + (f", … ({len(changed) - 3} more)" if len(changed) > 3 else "")
        raise MlbotError(f"{project.root.resolve()} has uncommitted changes to files the model is trained on "
                         f"({shown}), so the run would not be commit {request.sha[:7]}; mlbot trained nothing",
                         hint="commit them (or stash them), then run `mlbot train` again")


def _cached(project: Project, store: Callable[[], Any], tracking_uri: str,
            key: str) -> tuple[str | None, frozenset[str] | None]:
    """The reusable run for `key` and the commits it stands for (None: unknown), cheap probe first."""
    config = project.config
    quick = probe(tracking_uri, config.experiment_name, key, config.model, config.promote.alias)
    if quick is not None:
        return quick.run_id, quick.shas
    baseline = store().production(config.model, config.promote.alias)
    version = baseline.version if baseline else None
    found: str | None = store().find_cached_run(config.experiment_name, key, version)
    return found, None


def train(request: TrainRequest, tracking_uri: str, progress: Progress) -> TrainResult:
    """Train (or reuse a cached run for) the project; return the MLflow run id and the scores."""
    project = load_project(request.project_dir, check_metrics=False)
    params = {**project.config.train.params, **request.overrides}
    _commit_of(project, request, progress)
    key = project_cache_key(project, params)
    stores: list[Any] = []

    def store() -> Any:
        if not stores:
            from bot.adapters.mlflow.runs import RunStore

            stores.append(RunStore(tracking_uri))
        return stores[0]

    if not request.force:
        cached, shas = _cached(project, store, tracking_uri, key)
        if cached:
            if request.sha and (shas is None or request.sha.lower() not in shas):
                # so `report --sha`, `gates --sha` and `promote --sha` of this commit find the run
                store().add_sha(cached, request.sha)
            return TrainResult(cached, True, key, project.config.metric_names)
    problems = metric_problems(project.config)
    if problems:
        raise ConfigError(problems, hint="fix the keys above, then run `mlbot check`")
    return _fit_then_evaluate(project, request, params, key, store(), progress)


def _fit_then_evaluate(project: Project, request: TrainRequest, params: Mapping[str, Any], key: str,
                       store: Any, progress: Progress) -> TrainResult:
    from bot.service.settings import scrubbed_environment as environ
    from bot.training.dataset import load_dataset
    from bot.training.evaluate import evaluate
    from bot.training.fit import fit_in_subprocess

    config = project.config
    progress(f"loading {config.data.train} and {config.data.eval}")
    load_dataset(project)  # data problems are reported here, before any child process starts
    with tempfile.TemporaryDirectory(prefix="mlbot-fit-") as tmp:
        progress("fit stage: `mlbot fit` in a separate process")
        fit_in_subprocess(project.root, request.overrides, Path(tmp),
                          lambda line: progress(line.removeprefix("mlbot: ")), environ())
        progress("evaluate stage")
        return evaluate(request, Path(tmp), tracking_uri=store.tracking_uri, progress=progress, key=key,
                        store=store)


def check_project(directory: Path) -> Project:
    """Validate mlbot.yaml, its data, estimator and inputs; raise ConfigError listing every problem."""
    from bot.training import estimators
    from bot.training.dataset import load_dataset
    from bot.training.runcache import hash_inputs

    project = load_project(directory, check_metrics=False, elsewhere="give its directory: `mlbot check DIR`")
    problems = metric_problems(project.config)
    for check in (lambda: load_dataset(project), lambda: hash_inputs(project),
                  lambda: estimators.check(project, project.config.train.params)):
        try:
            check()
        except ConfigError as error:
            problems += error.problems
    if problems:
        unique = list(dict.fromkeys(problems))  # a missing data file is found by the data and the inputs checks
        raise ConfigError(unique, hint="fix the problems above, then run `mlbot check` again")
    return project
