"""The evaluate stage (trusted): safe-load the fitted model, score it and production, log the run.

Everything the gates read is computed here by mlbot's own code: the eval rows and their digest,
predictions, metrics, size, latency and the data profile. From the fit stage it takes only the
model file (loaded against an allow-list, SPEC §10) and `fit.json` (validated; `train_seconds`).
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from bot.core.config import Project, ProjectConfig, load_project, metric_problems, parse_project
from bot.core.errors import ConfigError, MlbotError, TrainingFailed, UsageError
from bot.training.requests import TrainRequest, TrainResult

Progress = Callable[[str], None]
REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "numpy", "pandas", "scipy")


def pip_requirements() -> list[str]:
    """Pinned requirements of a logged model (explicit: mlflow's inference costs ~2 s)."""
    return [f"{name}=={metadata.version(name)}" for name in REQUIREMENTS]


def tracking_note(uri: str) -> str:
    return uri if "://" in uri and not uri.startswith("sqlite") else f"store {uri}"


def judged_project(project_dir: Path, config_file: Path | None) -> Project:
    """The project as evaluate sees it: the base branch's mlbot.yaml when given, the head's data files.

    With `config_file` (the base branch's), eval path, target, metrics and slices come from it; only
    `data.train` is taken from the head's mlbot.yaml, since a PR may legitimately train on new data.
    """
    head = load_project(project_dir, check_metrics=False)
    if config_file is None:
        return head
    try:
        text = config_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--config {config_file} cannot be read ({error})",
                         hint="pass the base branch's mlbot.yaml") from None
    base: ProjectConfig = parse_project(text, str(config_file), check_metrics=False)
    config = base.model_copy(update={"data": base.data.model_copy(update={"train": head.config.data.train})})
    project = replace(head, config=config, filename=str(config_file))
    project.require_paths_inside()
    return project


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


def _check_overrides(requested: Mapping[str, Any], fitted: Mapping[str, Any]) -> None:
    """The model must have been fitted with the overrides this run was asked for."""
    differ = sorted(k for k, v in requested.items() if json.dumps(fitted.get(k), default=str)
                    != json.dumps(v, default=str) and str(fitted.get(k)) != str(v))
    if differ:
        raise UsageError(f"the model was fitted with other values of {', '.join(differ)} than --params asks",
                         hint="pass the same --params to `mlbot fit` and `mlbot evaluate`")


def evaluate(request: TrainRequest, model_dir: Path, tracking_uri: str, progress: Progress, *,
             config_file: Path | None = None, key: str | None = None, store: Any = None) -> TrainResult:
    """Judge the model in `model_dir` on the project's eval rows; log the run; return its scores."""
    from bot.training import artifact, safe_model
    from bot.training.dataset import load_dataset, rows_sha256
    from bot.training.runcache import project_cache_key

    project = judged_project(request.project_dir, config_file)
    problems = metric_problems(project.config, str(config_file or project.filename))
    if problems:
        raise ConfigError(problems, hint="fix the keys above, then run `mlbot check`")
    model_file = model_dir / safe_model.MODEL_FILE
    model = safe_model.load(model_file)  # refuses before any run exists: nothing is logged
    fitted = artifact.read_report(model_dir)
    _check_overrides(request.overrides, fitted.params)
    progress(f"loaded the {type(model).__name__} from {model_file} (safe format, allow-listed types)")
    dataset = load_dataset(project)
    if store is None:
        from bot.adapters.mlflow.runs import RunStore

        store = RunStore(tracking_uri)
    config = project.config
    key = key or project_cache_key(project, fitted.params)
    baseline = store.production(config.model, config.promote.alias)
    run_id = store.start_run(config.experiment_name, _run_name(request),
                             _base_tags(project, request, key, rows_sha256(dataset.eval)))
    progress(f"MLflow run {run_id} started ({tracking_note(store.tracking_uri)})")
    try:
        result = _score_and_log(project, dataset, model, model_file, fitted, key, store, baseline, run_id,
                                progress)
    except BaseException:
        store.finish_run(run_id, ok=False)
        raise
    store.finish_run(run_id, ok=True)
    return result


def _production(store: Any, baseline: Any, features: Any, progress: Progress) -> tuple[Any, str | None, Any]:
    """Production's predictions on the eval rows and its model, loaded the same safe way; or why not."""
    from bot.training import safe_model, scoring

    progress(f"scoring production v{baseline.version} on the same rows")
    with tempfile.TemporaryDirectory(prefix="mlbot-production-") as tmp:
        try:
            model = safe_model.load(store.download_safe_model(baseline.model_uri, Path(tmp)))
            return scoring.predict(model, features), None, model
        except MlbotError as error:
            reason = f"production v{baseline.version} could not be scored safely: {error.message}"
        except Exception as error:  # e.g. production expects columns this PR removed
            reason = f"{type(error).__name__}: {error}"
    progress(f"warning: {reason}")
    return None, reason[:500], None


def _score_and_log(project: Project, dataset: Any, model: Any, model_file: Path, fitted: Any, key: str,
                   store: Any, baseline: Any, run_id: str, progress: Progress) -> TrainResult:
    from bot.training import artifact, latency, safe_model, scoring
    from bot.training.profile import profile

    config, names = project.config, project.config.metric_names
    features = dataset.features("eval")
    progress(f"scoring on {len(dataset.eval)} eval rows")
    try:
        candidate = scoring.predict(model, features)
    except Exception as error:  # e.g. the PR's model expects columns the base branch's eval rows lack
        raise TrainingFailed(f"the fitted model cannot score the eval rows of {config.data.eval} "
                             f"({type(error).__name__}: {str(error)[:300]})",
                             hint="the model must take every eval column except the target and data.id") from None
    scores = scoring.score_all(names, dataset.labels("eval"), candidate)
    metrics = {**scores, **scoring.slice_metrics(names, dataset, candidate),
               "model_size_mb": scoring.size_mb(model_file.stat().st_size),
               "train_seconds": fitted.train_seconds, "eval_rows": float(len(dataset.eval)),
               "train_rows": float(len(dataset.train))}
    tags: dict[str, str] = {}
    production, production_scores, production_model = None, None, None
    if baseline is not None:
        production, reason, production_model = _production(store, baseline, features, progress)
        if reason is not None:
            tags["mlbot.baseline_error"] = reason
        else:
            production_scores = scoring.score_all(names, dataset.labels("eval"), production)
            metrics.update({f"production.{k}": v for k, v in production_scores.items()})
            tags.update({"mlbot.baseline_version": baseline.version,
                         "mlbot.baseline_run_id": baseline.run_id or ""})
    progress("timing candidate and production on the same rows (CPU time, interleaved)")
    metrics.update(latency.latency_metrics(model, production_model, features))
    progress("logging the model, metrics and predictions to MLflow")
    tags["mlbot.model_uri"] = store.log_sklearn_model(run_id, model, features.head(5), pip_requirements(),
                                                      safe_model.trusted_types(model_file))
    store.log_batch(run_id, {**fitted.params, "mlbot.estimator": fitted.estimator}, metrics, tags)
    buffer = io.BytesIO()
    scoring.predictions_frame(dataset, candidate, production).to_parquet(buffer, index=False)
    summary = {"metrics": scores, "production_metrics": production_scores,
               "baseline_version": tags.get("mlbot.baseline_version")}
    store.log_artifacts(run_id, {
        "eval/predictions.parquet": buffer.getvalue(),
        "eval/summary.json": json.dumps(summary, indent=1).encode(),
        "eval/profile.json": json.dumps(profile(dataset, config.task), indent=1).encode(),
        f"fit/{artifact.FIT_FILE}": (model_file.parent / artifact.FIT_FILE).read_bytes()})
    return TrainResult(run_id, False, key, names, scores, production_scores,
                       tags.get("mlbot.baseline_version"))

