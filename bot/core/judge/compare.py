"""Compare a candidate run with the production run: metric deltas with paired CIs, slices, params, data.

Everything here takes our own values (a `PredictionTable`, dicts, `RunView`s) and returns
plain dataclasses; the MLflow adapter builds the inputs, `policy` and `report` consume the output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from bot.core.errors import ConfigError, Problem
from bot.core.judge.bootstrap import LABEL_METRICS, EvalData, FloatArray, Scored, percentile_ci, point_value
from bot.core.judge.datadiff import DataDiff, diff_profiles
from bot.core.judge.flips import Flips, count_flips
from bot.core.judge.intervals import FLOAT_NOISE, Method, exact_label_value, paired_intervals, tie_tolerance
from bot.core.judge.metrics import METRICS, higher_is_better
from bot.core.judge.table import PredictionTable, as_text, eval_data, value_counts

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000
MAX_SLICE_VALUES = 50  # per column, the most frequent values; the rest are summed up in the report


@dataclass(frozen=True)
class RunView:
    """What compare needs to know about one MLflow run (built by the MLflow adapter)."""

    run_id: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    profile: Mapping[str, Any] | None = None
    version: str | None = None  # registry version, for the production run
    experiment_id: str | None = None  # for links into the MLflow UI

    @property
    def sha(self) -> str | None:
        return self.tags.get("mlbot.sha")

    @property
    def pr(self) -> int | None:
        value = self.tags.get("mlbot.pr", "")
        return int(value) if value.isdigit() else None

    @property
    def eval_sha256(self) -> str | None:
        return self.tags.get("mlbot.eval_sha256") or None


@dataclass(frozen=True)
class MetricComparison:
    """One metric for both models; `delta` is candidate − production in the metric's own units."""

    name: str
    higher_is_better: bool
    candidate: float
    production: float | None = None
    cis: Mapping[float, tuple[float, float]] = field(default_factory=dict)
    samples: FloatArray | None = field(default=None, repr=False, compare=False)
    method: str = ""  # what produced the interval: "DeLong", "multinomial bootstrap", "bootstrap", …
    se: float | None = None  # standard error of Δ (for CIs at other levels and the rows-needed estimate)
    exact_delta: float | None = None  # Δ from exact counts, where the metric is a ratio of counts
    tie_tolerance: float = FLOAT_NOISE  # bounds this close to a margin are exactly on it

    @property
    def delta(self) -> float | None:
        if self.production is None:
            return None
        return self.exact_delta if self.exact_delta is not None else self.candidate - self.production

    @property
    def delta_pct(self) -> float | None:
        if self.production is None or self.production == 0:
            return None
        return (self.candidate - self.production) / abs(self.production) * 100.0

    def ci(self, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float] | None:
        """The paired percentile CI of `delta` at `confidence`, None when there is no pairing."""
        for level, interval in self.cis.items():
            if abs(level - confidence) < 1e-9:
                return interval
        if self.samples is not None:
            return percentile_ci(self.samples, confidence)
        if self.se is not None and self.delta is not None:
            z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
            return self.delta - z * self.se, self.delta + z * self.se
        return None


@dataclass(frozen=True)
class SliceComparison:
    """The metrics on the eval rows where `column == value`."""

    column: str
    value: str
    rows: int
    metrics: tuple[MetricComparison, ...]

    def metric(self, name: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass(frozen=True)
class ParamsDiff:
    added: Mapping[str, str] = field(default_factory=dict)
    removed: Mapping[str, str] = field(default_factory=dict)
    changed: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (production, candidate)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class Comparison:
    """Everything the gates and the report need; `production is None` means first promotion."""

    model: str
    candidate: RunView
    production: RunView | None
    metrics: tuple[MetricComparison, ...]
    slices: tuple[SliceComparison, ...] = ()
    slice_values_omitted: Mapping[str, int] = field(default_factory=dict)
    params: ParamsDiff = field(default_factory=ParamsDiff)
    data: DataDiff | None = None
    eval_set_same: bool | None = None
    flips: Flips | None = None  # classification with a production model only
    rows: int = 0
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    confidence: float = DEFAULT_CONFIDENCE

    @property
    def first_promotion(self) -> bool:
        return self.production is None

    @property
    def primary(self) -> str | None:
        return self.metrics[0].name if self.metrics else None

    def metric(self, name: str) -> MetricComparison | None:
        return next((m for m in self.metrics if m.name == name), None)

    def slices_of(self, column: str) -> list[SliceComparison]:
        return [s for s in self.slices if s.column == column]


def diff_params(production: Mapping[str, str], candidate: Mapping[str, str]) -> ParamsDiff:
    """Params added, removed and changed from production to candidate."""
    return ParamsDiff(
        added={k: candidate[k] for k in sorted(candidate.keys() - production.keys())},
        removed={k: production[k] for k in sorted(production.keys() - candidate.keys())},
        changed={k: (production[k], candidate[k]) for k in sorted(candidate.keys() & production.keys())
                 if production[k] != candidate[k]},
    )


# --- metrics and slices -----------------------------------------------------------------------------


def _compare_metrics(
    data: EvalData, names: Sequence[str], levels: Sequence[float], resamples: int, seed: int,
    method: Method = "auto",
) -> tuple[MetricComparison, ...]:
    """Point values for both models and, when paired, each delta's interval by its metric's method."""
    intervals = {}
    if data.production is not None and data.rows >= 2:
        intervals = paired_intervals(data, names, levels, resamples=resamples, seed=seed, method=method)
    out = []
    for name in names:
        candidate = _safe_value(name, data, data.candidate)
        production = None if data.production is None else _safe_value(name, data, data.production)
        exact = None
        if name in LABEL_METRICS and data.production is not None and data.rows:
            k = len(data.classes)
            fc = exact_label_value(name, data.y.astype(np.int64), data.candidate.pred.astype(np.int64), k)
            fp = exact_label_value(name, data.y.astype(np.int64), data.production.pred.astype(np.int64), k)
            candidate, production, exact = float(fc), float(fp), float(fc - fp)
        found = intervals.get(name)
        out.append(MetricComparison(
            name, higher_is_better(name), candidate, production,
            found.cis if found else {}, found.samples if found else None,
            method=found.method if found else "", se=found.se if found else None,
            exact_delta=exact, tie_tolerance=tie_tolerance(name, data.rows)))
    return tuple(out)


def _safe_value(name: str, data: EvalData, scored: Scored) -> float:
    """The metric, or NaN where it is undefined on these rows (e.g. one class in a slice)."""
    try:
        return point_value(name, data, scored)
    except ValueError:
        return float("nan")


def _compare_slices(
    table: PredictionTable, data: EvalData, columns: Sequence[str], names: Sequence[str],
    levels: Sequence[float], resamples: int, seed: int, method: Method,
) -> tuple[tuple[SliceComparison, ...], dict[str, int]]:
    out: list[SliceComparison] = []
    omitted: dict[str, int] = {}
    for column in columns:
        key = f"slice.{column}"
        if key not in table:
            continue
        values = as_text(table[key], "(missing)")
        counts = value_counts(values)
        if len(counts) > MAX_SLICE_VALUES:
            omitted[column] = len(counts) - MAX_SLICE_VALUES
        for value, rows in counts[:MAX_SLICE_VALUES]:
            part = data.subset(values == value)
            out.append(SliceComparison(column, str(value), int(rows),
                                       _compare_metrics(part, names, levels, resamples, seed, method)))
    return tuple(out), omitted


def _flips(table: PredictionTable, data: EvalData, task: str) -> Flips | None:
    if task == "regression" or data.production is None:
        return None
    ids = as_text(table["row_id"], "?") if "row_id" in table else None
    return count_flips(data.y.astype(np.int64), data.candidate.pred.astype(np.int64),
                       data.production.pred.astype(np.int64), ids)


def compare_runs(
    candidate: RunView,
    production: RunView | None,
    predictions: PredictionTable,
    *,
    model: str,
    metrics: Sequence[str],
    slices: Sequence[str] = (),
    task: str | None = None,
    confidence_levels: Sequence[float] = (DEFAULT_CONFIDENCE,),
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    interval_method: Method = "auto",
) -> Comparison:
    """Compare candidate and production on the logged eval predictions (first metric is primary).

    `interval_method="bootstrap"` judges every metric by the paired bootstrap (the cross-check).
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ConfigError([Problem("mlbot.yaml", "metrics", f"unknown metric {m!r}; known: "
                                   f"{', '.join(METRICS)}") for m in unknown])
    task = task or (METRICS[metrics[0]].task if metrics else "classification")
    levels = sorted({*confidence_levels, DEFAULT_CONFIDENCE})
    data = eval_data(predictions, task)
    if production is None:
        data = EvalData(data.y, data.candidate, None, data.classes)
    slice_results, omitted = _compare_slices(predictions, data, slices, metrics, levels, resamples, seed,
                                             interval_method)
    same_eval = None
    if production is not None and candidate.eval_sha256 and production.eval_sha256:
        same_eval = candidate.eval_sha256 == production.eval_sha256
    return Comparison(
        model=model,
        candidate=candidate,
        production=production,
        metrics=_compare_metrics(data, metrics, levels, resamples, seed, interval_method),
        slices=slice_results,
        slice_values_omitted=omitted,
        params=diff_params(production.params if production else {}, candidate.params)
        if production else ParamsDiff(),
        data=diff_profiles(production.profile, candidate.profile)
        if production and production.profile and candidate.profile else None,
        eval_set_same=same_eval,
        flips=_flips(predictions, data, task),
        rows=data.rows,
        resamples=resamples,
        seed=seed,
        confidence=DEFAULT_CONFIDENCE,
    )
