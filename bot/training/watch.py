"""`mlbot watch` (trusted, like evaluate): judge one production window and log a monitoring run.

Production is resolved from the registry (`models:/NAME@ALIAS`), its logged model loaded with the
safe loader only; the reference is the production run's own `eval/profile.json` (training split)
and `eval/predictions.parquet` (its scores at promotion). The monitoring run (`mlbot.trigger =
watch`) is linked to the production version and carries the window's profile and the report.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.core.config import Project
from bot.core.errors import NotFound
from bot.core.judge.drift import DriftReport, Kind, measure, reference_from_sample
from bot.core.judge.gates import Evaluation
from bot.core.judge.metrics import Prediction
from bot.core.judge.watch_gates import MetricShift, confidence_levels, evaluate_watch, metric_shift, watch_gates
from bot.core.policy import load_policies
from bot.core.types import Snooze
from bot.core.watch_report import TrendPoint, WatchSummary, run_metrics, summarize, trend_point
from bot.training.watch_window import as_columns, read_window

Progress = Callable[[str], None]


class NothingToWatch(NotFound):
    """No production model yet: a scheduled watch has nothing to judge (not a failure)."""


@dataclass(frozen=True)
class WatchResult:
    """One judged window."""

    model: str
    alias: str
    version: str
    reference_run_id: str
    run_id: str
    source: str
    report: DriftReport
    shifts: dict[str, MetricShift] | None
    evaluation: Evaluation
    summary: WatchSummary

    @property
    def healthy(self) -> bool:
        return self.evaluation.promotable


def _sanitize(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", name)[:200] or "_"


def _prediction(model: Any, frame: pd.DataFrame) -> Prediction:
    from bot.training import scoring

    return scoring.predict(model, frame)


def _reference_predictions(table: Any, classes: list[Any]) -> tuple[Any, Prediction]:
    """The production run's own truth and predictions on its eval rows."""
    columns = table  # a PredictionTable: columns by name
    proba_cols = [f"candidate_proba.{c}" for c in classes]
    proba = (np.column_stack([np.asarray(columns[c], dtype=np.float64) for c in proba_cols])
             if classes and all(c in columns for c in proba_cols) else None)
    return np.asarray(columns["truth"]), Prediction(np.asarray(columns["candidate_pred"]), proba, classes)


def _prediction_pairs(reference: tuple[Any, Prediction], window: Prediction, n_ref: int,
                      task: str) -> list[tuple[str, dict[str, Any], int, Any]]:
    """(name, reference column, reference rows, window values) for the score and the predicted class."""
    _, ref = reference
    pairs: list[tuple[str, dict[str, Any], int, Any]] = []
    kind: Kind = "numeric" if task == "regression" else "categorical"
    if kind == "numeric":
        pairs.append(("prediction", reference_from_sample(ref.y_pred, "numeric"), n_ref, window.y_pred))
        return pairs
    if ref.proba is not None and window.proba is not None and len(window.classes) == 2:
        pairs.append(("score", reference_from_sample(ref.proba[:, 1], "numeric"), n_ref, window.proba[:, 1]))
    as_text = np.vectorize(str, otypes=[object])
    pairs.append(("predicted class", reference_from_sample(as_text(ref.y_pred), "categorical"), n_ref,
                  as_text(window.y_pred)))
    return pairs


def _shifts(names: list[str], labels: Any, window: Prediction, reference: tuple[Any, Prediction],
            levels: list[float]) -> dict[str, MetricShift]:
    out = {}
    for name in names:
        shift = metric_shift(name, (labels, window), reference, levels)
        if shift is not None:
            out[name] = shift
    return out


def watch(project: Project, policies: dict[str, str], tracking_uri: str, progress: Progress, *,
          window_path: Path | None = None, store: Any = None) -> WatchResult:
    """Judge the newest production window of `project`; log the monitoring run; return the verdicts."""
    from bot.training import safe_model

    config = project.config
    assert config.watch is not None
    if store is None:
        from bot.adapters.mlflow.runs import RunStore

        store = RunStore(tracking_uri)
    alias = config.promote.alias
    baseline = store.production(config.model, alias)
    if baseline is None or baseline.run_id is None:
        raise NothingToWatch(f"{config.model} has no {alias} version in the registry, so there is nothing to watch",
                       hint="promote a model first (merge a pull request or run `mlbot promote`)")
    gates = watch_gates(load_policies(policies))
    with tempfile.TemporaryDirectory(prefix="mlbot-watch-") as tmp:
        model = safe_model.load(store.download_safe_model(baseline.model_uri, Path(tmp)))
    progress(f"loaded {config.model} v{baseline.version} ({alias}) with the safe loader")
    profile = store.load_profile(baseline.run_id)
    frame, source = read_window(project, window_path, progress)
    label = config.watch.label
    features = [c for c in profile.get("columns", {}) if c not in (profile.get("target"), config.data.id, label)]
    notes: list[str] = []
    scored: Prediction | None = None
    try:
        scored = _prediction(model, frame[[c for c in features if c in frame.columns]])
    except Exception as error:  # e.g. a feature column is missing from the window
        notes.append(f"production could not score the window ({type(error).__name__}: {str(error)[:200]})")
    classes = list(getattr(model, "classes_", []))
    reference = _reference_predictions(store.load_predictions(baseline.run_id), classes)
    n_ref = len(reference[0])
    pairs = _prediction_pairs(reference, scored, n_ref, config.task) if scored is not None else []
    exclude = [c for c in (config.data.id, label) if c]
    report = measure(profile, as_columns(frame), rows=len(frame), exclude=exclude, predictions=pairs)
    shifts = None
    if label and label in frame.columns and scored is not None:
        present = frame[label].notna().to_numpy()
        if present.any():
            labelled = Prediction(scored.y_pred[present], None if scored.proba is None else scored.proba[present],
                                  scored.classes)
            shifts = _shifts(config.metric_names, frame[label].to_numpy()[present], labelled, reference,
                             confidence_levels(gates))
    primary = config.metric_names[0]
    evaluation = evaluate_watch(gates, report, shifts, primary)
    history = store.watch_runs(config.experiment_name, config.model, alias, config.watch.trend - 1)
    trend = [trend_point(_when(r.start_time / 1000), r.metrics, r.tags.get("mlbot.watch_healthy") != "false",
                         r.run_id) for r in reversed(history)]
    summary = summarize(config.model, alias, baseline.version, "", source, report, shifts, evaluation, primary,
                        notes)
    summary = with_snooze(summary, store.watch_snooze(config.model, alias), time.time())
    summary = _log(store, project, baseline, summary, trend, report, frame)
    progress(f"logged the monitoring run {summary.run_id}")
    return WatchResult(config.model, alias, baseline.version, baseline.run_id, summary.run_id, source, report,
                       shifts, evaluation, summary)


def with_snooze(summary: WatchSummary, snooze: Snooze | None, now: float) -> WatchSummary:
    """`summary` noting the `/snooze` of its model, when one is still in force at `now` (an ended one is not)."""
    if snooze is None or snooze.until <= now:
        return summary
    return replace(summary, snoozed_until=snooze.until, snoozed_by=snooze.by)


def _when(seconds: float) -> str:
    return time.strftime("%m-%d %H:%M", time.gmtime(seconds))


def _log(store: Any, project: Project, baseline: Any, summary: WatchSummary, trend: list[TrendPoint],
         report: DriftReport, frame: pd.DataFrame) -> WatchSummary:
    """Log the monitoring run; the summary it stored, with its run id and the trend ending in this window."""
    from bot.training.dataset import Dataset
    from bot.training.profile import profile

    config = project.config
    source = summary.source
    tags = {"mlbot.trigger": "watch", "mlbot.model": config.model, "mlbot.watch_alias": config.promote.alias,
            "mlbot.watch_version": baseline.version, "mlbot.baseline_version": baseline.version,
            "mlbot.baseline_run_id": baseline.run_id or "", "mlbot.watch_source": source[:500],
            "mlbot.watch_healthy": str(summary.healthy).lower(), "mlbot.status": "running"}
    name = f"watch-v{baseline.version}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    run_id = str(store.start_run(config.experiment_name, name, tags))
    # the stored report is the whole summary, trend included: whoever reads the latest watch back
    # (the /metrics gauges, the watch issue) sees what the CLI printed
    now = trend_point(_when(time.time()), run_metrics(summary), summary.healthy, run_id)
    summary = replace(summary, run_id=run_id, trend=(*trend, now))
    try:
        metrics = run_metrics(summary)
        metrics.update({f"drift.{_sanitize(c.name)}.psi": c.psi for c in report.columns if c.psi is not None})
        metrics.update({f"drift.{_sanitize(c.name)}.p_adjusted": c.p_adjusted for c in report.columns})
        store.log_batch(run_id, {}, metrics, {})
        window_profile = profile(Dataset(frame, frame.iloc[:0], str((config.watch and config.watch.label) or ""),
                                         None, ()), config.task) if len(frame.columns) else {}
        window_profile.pop("target", None)
        store.log_artifacts(run_id, {
            "watch/profile.json": json.dumps(window_profile, indent=1, default=str).encode(),
            "watch/report.json": json.dumps(summary.to_json(), indent=1, default=str).encode()})
    except BaseException:
        store.finish_run(run_id, ok=False)
        raise
    store.finish_run(run_id, ok=True)
    return summary

