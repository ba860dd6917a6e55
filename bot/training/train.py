"""`mlbot train`: train the candidate, score it and production on the eval rows, log it all to MLflow.

The run-cache is consulted first, before scikit-learn or mlflow are imported, so a hit is cheap.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.adapters.mlflow.probe import probe
from bot.core.config import Project, load_project, metric_problems
from bot.core.errors import ConfigError, Problem
from bot.training.runcache import project_cache_key

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainRequest:
    """One `mlbot train` invocation."""

    project_dir: Path = Path(".")
    sha: str = ""
    pr: int | None = None
    branch: str = ""
    trigger: str = "manual"
    repo: str = ""
    ci_url: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    force: bool = False


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    reused: bool
    cache_key: str
    metric_names: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    production_metrics: dict[str, float] | None = None
    baseline_version: str | None = None


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


def _cached(project: Project, store: Callable[[], Any], tracking_uri: str, key: str) -> str | None:
    """The reusable run for `key`: the cheap probe first, the full MLflow client when it cannot tell."""
    config = project.config
    quick = probe(tracking_uri, config.experiment_name, key, config.model, config.promote.alias)
    if quick is not None:
        return quick.run_id
    baseline = store().production(config.model, config.promote.alias)
    version = baseline.version if baseline else None
    found: str | None = store().find_cached_run(config.experiment_name, key, version)
    return found


def train(request: TrainRequest, tracking_uri: str, progress: Progress) -> TrainResult:
    """Train (or reuse a cached run for) the project; return the MLflow run id and the scores."""
    project = load_project(request.project_dir, check_metrics=False)
    params = {**project.config.train.params, **request.overrides}
    key = project_cache_key(project, params)
    stores: list[Any] = []

    def store() -> Any:
        if not stores:
            from bot.adapters.mlflow.runs import RunStore

            stores.append(RunStore(tracking_uri))
        return stores[0]

    if not request.force:
        cached = _cached(project, store, tracking_uri, key)
        if cached:
            return TrainResult(cached, True, key, project.config.metric_names)
    problems = metric_problems(project.config)
    if problems:
        raise ConfigError(problems, hint="fix the keys above, then run `mlbot check`")
    return _train(project, request, params, key, store(), progress)


def _base_tags(project: Project, request: TrainRequest, key: str, eval_sha: str) -> dict[str, str]:
    config = project.config
    return {"mlbot.repo": request.repo, "mlbot.sha": request.sha,
            "mlbot.pr": "" if request.pr is None else str(request.pr), "mlbot.branch": request.branch,
            "mlbot.trigger": request.trigger, "mlbot.ci_url": request.ci_url, "mlbot.cache_key": key,
            "mlbot.eval_sha256": eval_sha, "mlbot.model": config.model, "mlbot.task": config.task,
            "mlbot.metrics": ",".join(config.metric_names), "mlbot.status": "running"}


def _run_name(request: TrainRequest) -> str:
    short = request.sha[:7] or "local"
    return f"pr{request.pr}-{short}" if request.pr is not None else f"{request.trigger}-{short}"


def pip_requirements() -> list[str]:
    """Pinned requirements of a declarative model (explicit: mlflow's inference costs ~2 s)."""
    names = ("mlflow", "scikit-learn", "cloudpickle", "numpy", "pandas")
    return [f"{name}=={metadata.version(name)}" for name in names]


def _train(project: Project, request: TrainRequest, params: Mapping[str, Any], key: str, store: Any,
           progress: Progress) -> TrainResult:
    from bot.training import dataset as data_module
    from bot.training.profile import profile

    config = project.config
    progress(f"loading {config.data.train} and {config.data.eval}")
    dataset = data_module.load_dataset(project)
    _check_estimator(project, params)
    baseline = store.production(config.model, config.promote.alias)
    run_id = store.start_run(config.experiment_name, _run_name(request),
                             _base_tags(project, request, key, data_module.rows_sha256(dataset.eval)))
    progress(f"MLflow run {run_id} started ({tracking_note(store.tracking_uri)})")
    try:
        result = _fit_and_log(project, dataset, params, key, store, baseline, run_id, progress)
        store.log_artifacts(run_id, {"eval/profile.json": json.dumps(profile(dataset, config.task),
                                                                     indent=1).encode()})
    except BaseException:
        store.finish_run(run_id, ok=False)
        raise
    store.finish_run(run_id, ok=True)
    return result


def tracking_note(uri: str) -> str:
    return uri if "://" in uri and not uri.startswith("sqlite") else f"store {uri}"


def check_project(directory: Path) -> Project:
    """Validate mlbot.yaml, its data, estimator and inputs; raise ConfigError listing every problem."""
    from bot.training.dataset import load_dataset
    from bot.training.runcache import hash_inputs

    project = load_project(directory, check_metrics=False)
    problems = metric_problems(project.config)
    for check in (lambda: load_dataset(project), lambda: hash_inputs(project),
                  lambda: _check_estimator(project, project.config.train.params)):
        try:
            check()
        except ConfigError as error:
            problems += error.problems
    if problems:
        raise ConfigError(problems, hint="fix the problems above, then run `mlbot check` again")
    return project


def _check_estimator(project: Project, params: Mapping[str, Any]) -> None:
    from bot.training import estimators

    if project.config.train.mode != "estimator":
        return

    estimator, problems = estimators.make(project.config.train.estimator or "", params)
    needs_proba = [m for m in project.config.metric_names if m in {"roc_auc", "log_loss", "brier"}]
    if estimator is not None and needs_proba and estimators.lacks_proba(estimator):
        problems.append(Problem("mlbot.yaml", "metrics", f"{', '.join(needs_proba)} need predicted "
                                f"probabilities, but {type(estimator).__name__} has no predict_proba"))
    if problems:
        raise ConfigError(problems,
                          hint="fix train.estimator / train.params / metrics (or the --param values)")


def _fit_and_log(project: Project, dataset: Any, params: Mapping[str, Any], key: str, store: Any,
                 baseline: Any, run_id: str, progress: Progress) -> TrainResult:
    from bot.training import evaluate as evaluation
    from bot.training import fit as fitting
    from bot.training import latency

    config = project.config
    started = time.perf_counter()
    declarative = config.train.mode == "estimator"
    if declarative:
        model = fitting.fit_declarative(project, dataset, params, progress)
    else:
        model = fitting.fit_command(project, params, progress)
    train_seconds = time.perf_counter() - started
    progress(f"fitted in {train_seconds:.2f} s; scoring on {len(dataset.eval)} eval rows")
    features, names = dataset.features("eval"), config.metric_names
    candidate = evaluation.predict(model, features)
    scores = evaluation.score_all(names, dataset.labels("eval"), candidate)
    metrics = {**scores, **evaluation.slice_metrics(names, dataset, candidate),
               "model_size_mb": evaluation.size_mb(model),
               "train_seconds": train_seconds, "eval_rows": float(len(dataset.eval)),
               "train_rows": float(len(dataset.train))}
    tags: dict[str, str] = {}
    production, production_scores, production_model = None, None, None
    if baseline is not None:
        progress(f"scoring production v{baseline.version} on the same rows")
        try:
            production_model = store.load_model(baseline.model_uri)
            production = evaluation.predict(production_model, features)
        except Exception as error:  # e.g. production expects columns this PR removed
            tags["mlbot.baseline_error"] = f"{type(error).__name__}: {error}"[:500]
            progress(f"warning: production v{baseline.version} could not score the eval rows ({error})")
        else:
            production_scores = evaluation.score_all(names, dataset.labels("eval"), production)
            metrics.update({f"production.{k}": v for k, v in production_scores.items()})
            tags.update({"mlbot.baseline_version": baseline.version,
                         "mlbot.baseline_run_id": baseline.run_id or ""})
    # candidate and production timed together on CPU time (bot/training/latency.py): predict_p95_ms (+ CI),
    # latency_ratio (+ CI) when production scored the same rows
    metrics.update(latency.latency_metrics(model, production_model if production is not None else None, features))
    progress("logging the model, metrics and predictions to MLflow")
    tags["mlbot.model_uri"] = store.log_sklearn_model(
        run_id, model, features.head(5), pip_requirements() if declarative else None)
    estimator_param = {"mlbot.estimator": config.train.estimator if declarative else "command"}
    store.log_batch(run_id, {**params, **estimator_param}, metrics, tags)
    buffer = io.BytesIO()
    evaluation.predictions_frame(dataset, candidate, production).to_parquet(buffer, index=False)
    summary = {"metrics": scores, "production_metrics": production_scores,
               "baseline_version": tags.get("mlbot.baseline_version")}
    store.log_artifacts(run_id, {"eval/predictions.parquet": buffer.getvalue(),
                                 "eval/summary.json": json.dumps(summary, indent=1).encode()})
    return TrainResult(run_id, False, key, names, scores, production_scores,
                       tags.get("mlbot.baseline_version"))
