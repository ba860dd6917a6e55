"""Numpy-only statistics for drift: KS against a quantile profile, chi-square, BH, distances.

The reference is a logged profile, not raw rows: a numeric column is 101 quantiles (0 … 100 %) of
`n_ref` rows, read as a piecewise-uniform distribution (the same reading PSI uses). The KS test is
the two-sample test with the effective size n·m/(n+m) and the asymptotic Kolmogorov distribution
with Stephens' small-sample correction; the chi-square survival is the regularized upper gamma
function (series below a + 1, continued fraction above, as in Numerical Recipes §6.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
LEVELS = np.linspace(0.0, 1.0, 101)
_GAMMA_EPS = 1e-14
_GAMMA_ITER = 500


def reference_cdf(quantiles: FloatArray, x: FloatArray, *, left: bool = False) -> FloatArray:
    """P(X ≤ x) (or P(X < x) with `left`) of the piecewise-uniform distribution of 101 quantiles.

    At a value several quantiles share (a discrete feature), the right limit is the highest level
    at that value and the left limit the lowest, so a jump is a jump.
    """
    q = np.asarray(quantiles, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(q))
    if not left:
        return np.asarray(np.interp(x, q, levels), dtype=np.float64)
    return np.asarray(1.0 - np.interp(-x, -q[::-1], 1.0 - levels[::-1]), dtype=np.float64)


def ks_statistic(quantiles: FloatArray, sorted_values: FloatArray) -> float:
    """sup |F_window − F_reference| over the window's values (both one-sided limits)."""
    n = len(sorted_values)
    if n == 0:
        return 0.0
    # The input is sorted, so each distinct value's first index and the next one's are its step (O(n)).
    first = np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]]))
    x = sorted_values[first]
    below = first / n
    right = np.concatenate([first[1:], [n]]) / n
    d_right = np.abs(right - reference_cdf(quantiles, x))
    d_left = np.abs(below - reference_cdf(quantiles, x, left=True))
    return float(max(d_right.max(), d_left.max()))


def kolmogorov_sf(statistic: float, n_eff: float) -> float:
    """P(D ≥ statistic) for the KS statistic at effective size `n_eff` (asymptotic, Stephens)."""
    if n_eff <= 0 or statistic <= 0:
        return 1.0
    root = math.sqrt(n_eff)
    lam = (root + 0.12 + 0.11 / root) * statistic
    if lam < 0.2:
        return 1.0
    total, sign = 0.0, 1.0
    for k in range(1, 101):
        term = sign * 2.0 * math.exp(-2.0 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12 * max(total, 1e-300):
            break
        sign = -sign
    return float(min(max(total, 0.0), 1.0))


def _gamma_series(a: float, x: float) -> float:
    """The regularized lower gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    ap = a
    for _ in range(_GAMMA_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _GAMMA_EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_fraction(a: float, x: float) -> float:
    """The regularized upper gamma Q(a, x) by Lentz's continued fraction (x ≥ a + 1)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, _GAMMA_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < _GAMMA_EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, df: int) -> float:
    """P(χ²_df ≥ statistic)."""
    if df <= 0 or statistic <= 0:
        return 1.0
    a, x = df / 2.0, statistic / 2.0
    value = 1.0 - _gamma_series(a, x) if x < a + 1.0 else _gamma_fraction(a, x)
    return float(min(max(value, 0.0), 1.0))


def chi2_two_sample(expected_counts: FloatArray, observed_counts: FloatArray) -> tuple[float, float]:
    """Pearson's chi-square of a 2 × k table (reference counts, window counts): (statistic, p)."""
    table = np.vstack([np.asarray(expected_counts, float), np.asarray(observed_counts, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) <= 0).any():
        return 0.0, 1.0
    total = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / total
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, chi2_sf(statistic, table.shape[1] - 1)


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return []
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return [float(v) for v in out]


def wasserstein(quantiles: FloatArray, sorted_values: FloatArray, points: int = 1000) -> float:
    """The 1-Wasserstein distance of the window to the reference, on a grid of `points` levels."""
    if len(sorted_values) == 0:
        return 0.0
    u = (np.arange(points) + 0.5) / points
    q = np.asarray(quantiles, dtype=np.float64)
    ref = np.interp(u, np.linspace(0.0, 1.0, len(q)), q)
    idx = np.minimum((u * len(sorted_values)).astype(np.int64), len(sorted_values) - 1)
    return float(np.mean(np.abs(sorted_values[idx] - ref)))


def jensen_shannon(p: FloatArray, q: FloatArray) -> float:
    """The Jensen–Shannon distance (base 2, in [0, 1]) of two share vectors over the same keys."""
    a = np.asarray(p, dtype=np.float64)
    b = np.asarray(q, dtype=np.float64)
    a = a / a.sum() if a.sum() > 0 else a
    b = b / b.sum() if b.sum() > 0 else b
    mid = (a + b) / 2.0

    def kl(x: FloatArray) -> float:
        mask = x > 0
        return float(np.sum(x[mask] * np.log2(x[mask] / mid[mask])))

    return math.sqrt(max((kl(a) + kl(b)) / 2.0, 0.0))


def sample_quantiles(values: Any, *, is_sorted: bool = False) -> FloatArray:
    """101 quantiles of the finite values (the profile's layout: numpy's linear interpolation)."""
    present = np.asarray(values, dtype=np.float64)
    present = present[np.isfinite(present)]
    if present.size == 0:
        return np.full(101, np.nan)
    if not is_sorted:
        return np.asarray(np.percentile(present, np.arange(101)), dtype=np.float64)
    position = np.linspace(0.0, present.size - 1, 101)  # what np.percentile does, on sorted values
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, present.size - 1)
    return np.asarray(present[low] + (present[high] - present[low]) * (position - low), dtype=np.float64)
