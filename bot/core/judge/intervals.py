"""Per metric, the exact or fast way to get the paired interval of candidate − production.

- label metrics (accuracy, balanced_accuracy, precision, recall, f1) are ratios of counts: the
  point values and Δ come exactly from the integer confusion matrices (fractions), the interval
  from the multinomial bootstrap over (truth, candidate, production) cells — the exact bootstrap
  distribution at the cost of one draw of a few counts;
- roc_auc: DeLong's paired variance (O(n log n), `bot.core.judge.delong`), a normal interval;
- mean-like metrics (log_loss, brier, rmse, mae, mape, r2): the paired index bootstrap up to
  `DELTA_METHOD_ROWS` rows; above, the delta method — each metric is a smooth function of a few
  row means, so Δ's standard error is that of the mean of per-row influences (a paired normal
  interval, O(n); at that size the bootstrap's cost grows with rows × resamples while the normal
  approximation is already accurate).

`method="bootstrap"` forces the bootstrap everywhere (the cross-check and the old path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Literal

import numpy as np

from bot.core.judge.bootstrap import (
    LABEL_METRICS,
    EvalData,
    FloatArray,
    IntArray,
    moments,
    paired_deltas,
    percentile_ci,
)
from bot.core.judge.delong import paired_auc
from bot.core.judge.metrics import METRICS
from bot.core.judge.verdict import NOISE

Method = Literal["auto", "bootstrap"]
DELONG = "DeLong"
MULTINOMIAL = "multinomial bootstrap"
BOOTSTRAP = "bootstrap"
DELTA_METHOD = "delta method"
DELTA_METHOD_ROWS = 5_000
FLOAT_NOISE = NOISE  # far above rounding error of values near 1 (≈ 1e-16), far below any real difference


@dataclass(frozen=True)
class Interval:
    """How a metric's Δ was judged: the method, CIs by confidence, and what else it left behind."""

    method: str
    cis: dict[float, tuple[float, float]]
    samples: FloatArray | None = None  # bootstrap draws of Δ (None for analytic methods)
    se: float | None = None  # standard error of Δ


def tie_tolerance(name: str, rows: int) -> float:
    """How close a bound must be to a margin to count as exactly on it: well below the metric's grid.

    Accuracy moves in steps of 1/rows; other count ratios (precision, recall, f1, balanced
    accuracy) in steps of at least 1/rows²; continuous metrics have no grid, only float noise.
    """
    if name not in LABEL_METRICS or rows <= 0:
        return FLOAT_NOISE
    resolution = 1.0 / rows if name == "accuracy" else 1.0 / rows**2
    return max(min(resolution / 1000.0, 1e-9), 1e-13)


def exact_label_value(name: str, y: IntArray, pred: IntArray, k: int) -> Fraction:
    """A label metric as an exact fraction of counts (same definition as `bot.core.judge.metrics`)."""
    k = max(k, int(max(y.max(initial=0), pred.max(initial=0))) + 1)
    flat = np.bincount(y.astype(np.int64) * k + pred.astype(np.int64), minlength=k * k)
    matrix = [[int(v) for v in flat[r * k:(r + 1) * k]] for r in range(k)]
    diag = [matrix[i][i] for i in range(k)]
    truth = [sum(row) for row in matrix]
    predicted = [sum(matrix[r][c] for r in range(k)) for c in range(k)]
    if name == "accuracy":
        return Fraction(sum(diag), max(sum(truth), 1))
    if name == "balanced_accuracy":
        present = [i for i in range(k) if truth[i]]
        return sum((Fraction(diag[i], truth[i]) for i in present), Fraction(0)) / len(present)
    dens = {"precision": predicted, "recall": truth,
            "f1": [truth[i] + predicted[i] for i in range(k)]}[name]
    per_class = [Fraction((2 if name == "f1" else 1) * diag[i], dens[i]) if dens[i] else Fraction(0)
                 for i in range(k)]
    if k == 2:
        return per_class[1]
    present = [i for i in range(k) if truth[i] + predicted[i]]
    return sum((per_class[i] for i in present), Fraction(0)) / max(len(present), 1)


def _normal(delta: float, se: float, levels: Sequence[float]) -> dict[float, tuple[float, float]]:
    out = {}
    for level in levels:
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        out[level] = (delta - z * se, delta + z * se)
    return out


def delta_method(name: str, data: EvalData) -> tuple[float, float]:
    """Δ of a mean-like metric and its standard error from per-row influences (numerical gradient)."""
    assert data.production is not None
    delta, influence = 0.0, np.zeros(data.rows)
    for sign, scored in ((1.0, data.candidate), (-1.0, data.production)):
        cols, finish = moments(name, data, scored)
        mean = cols.mean(axis=0)
        value = float(finish(mean[None, :])[0])
        grad = np.empty(len(mean))
        for j in range(len(mean)):
            step = 1e-6 * max(1.0, abs(float(mean[j])))
            up, down = mean.copy(), mean.copy()
            up[j] += step
            down[j] -= step
            grad[j] = (finish(up[None, :])[0] - finish(down[None, :])[0]) / (2 * step)
        delta += sign * value
        influence += sign * ((cols - mean) @ grad)
    return delta, float(np.std(influence, ddof=1) / np.sqrt(data.rows))


def _percentiles(samples: FloatArray, levels: Sequence[float]) -> dict[float, tuple[float, float]]:
    return {level: percentile_ci(samples, level) for level in levels}


def _se(samples: FloatArray) -> float | None:
    finite = samples[np.isfinite(samples)]
    return float(np.std(finite, ddof=1)) if len(finite) > 1 else None


def paired_intervals(
    data: EvalData, names: Sequence[str], levels: Sequence[float], *, resamples: int, seed: int,
    method: Method = "auto",
) -> dict[str, Interval]:
    """The interval of Δ for each metric in `names`, by the method that is exact or fast for it."""
    assert data.production is not None
    out: dict[str, Interval] = {}
    no_proba = data.candidate.proba is None or data.production.proba is None
    boot: list[str] = [n for n in names if not (no_proba and METRICS[n].needs_proba)]  # undefined: no interval
    cand_proba, prod_proba = data.candidate.proba, data.production.proba
    if method == "auto" and "roc_auc" in boot and cand_proba is not None and prod_proba is not None:
        boot.remove("roc_auc")
        try:
            auc = paired_auc(data.y.astype(np.int64), cand_proba, prod_proba)
        except ValueError:  # one class only (e.g. in a slice): no interval
            pass
        else:
            out["roc_auc"] = Interval(DELONG, _normal(auc.delta, auc.se, levels), se=auc.se)
    if method == "auto" and data.rows >= DELTA_METHOD_ROWS:
        for name in [n for n in boot if n not in LABEL_METRICS and n != "roc_auc"]:
            boot.remove(name)
            delta, se = delta_method(name, data)
            out[name] = Interval(DELTA_METHOD, _normal(delta, se, levels), se=se)
    if boot:
        draws = paired_deltas(data, boot, resamples=resamples, seed=seed)
        for name in boot:
            kind = MULTINOMIAL if name in LABEL_METRICS else BOOTSTRAP
            out[name] = Interval(kind, _percentiles(draws[name], levels), draws[name], _se(draws[name]))
    return out
