"""Drift of a production window from the production run's reference profile (numpy only).

Per feature column, a test that fits its kind — numeric: two-sample Kolmogorov–Smirnov against the
reference's 101 quantiles; categorical: chi-square over the reference's categories — and an effect
size — numeric: Wasserstein distance in reference standard deviations; categorical: Jensen–Shannon
distance. P-values are corrected across columns with Benjamini–Hochberg. A column drifts when its
corrected p-value is below `alpha` AND its effect reaches the floor: on small windows the test
guards against noise, on large ones (where any difference is significant) the effect size decides
whether the difference matters. PSI is reported beside them, computed as the data diff does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from bot.core.judge import drift_stats as st
from bot.core.judge.datadiff import categorical_psi, numeric_psi
from bot.core.judge.drift_quality import OTHER, Quality, assess_quality

ALPHA = 0.05
MIN_WASSERSTEIN_SD = 0.1  # a shift below a tenth of a standard deviation is not worth an issue
MIN_JENSEN_SHANNON = 0.05
Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: the test, its raw and corrected p-values, the effect, PSI."""

    name: str
    kind: Kind
    test: str  # "KS" or "chi-square"
    statistic: float
    p_value: float
    effect_name: str  # "Wasserstein/σ" or "Jensen–Shannon"
    effect: float
    psi: float | None
    rows: int
    p_adjusted: float = 1.0
    drifted: bool = False
    shift: float | None = None  # numeric: window mean − reference mean, in reference σ

    def describe(self) -> str:
        """One phrase: what moved and by how much."""
        moved = f", mean {self.shift:+.2f} σ" if self.shift is not None else ""
        psi = f", PSI {self.psi:.3g}" if self.psi is not None else ""
        return (f"{self.name}: {self.test} p={self.p_adjusted:.3g} (corrected), "
                f"{self.effect_name} {self.effect:.3g}{moved}{psi}")


@dataclass(frozen=True)
class DriftReport:
    """Feature drift, prediction drift and data quality of one window."""

    rows: int
    alpha: float
    columns: tuple[ColumnDrift, ...]  # features, most drifted first
    predictions: tuple[ColumnDrift, ...] = ()
    quality: Quality = field(default_factory=Quality)

    @property
    def drifted(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        return len(self.drifted) / len(self.columns) if self.columns else 0.0

    @property
    def max_psi(self) -> ColumnDrift | None:
        scored = [c for c in self.columns if c.psi is not None]
        return max(scored, key=lambda c: c.psi or 0.0) if scored else None

    @property
    def prediction_drifted(self) -> bool:
        return any(c.drifted for c in self.predictions)


def _finite_sorted(values: Any) -> np.ndarray[Any, Any]:
    x = np.asarray(values, dtype=np.float64)
    return np.sort(x[np.isfinite(x)])


def _numeric(name: str, ref: Mapping[str, Any], n_ref: int, values: Any) -> ColumnDrift | None:
    q = np.asarray([np.nan if v is None else v for v in ref.get("quantiles") or []], dtype=np.float64)
    window = _finite_sorted(values)
    if len(q) != 101 or not np.isfinite(q).all() or window.size == 0:
        return None
    d = st.ks_statistic(q, window)
    n_eff = window.size * n_ref / (window.size + n_ref) if n_ref > 0 else float(window.size)
    sd = ref.get("std")
    if not (isinstance(sd, int | float) and math.isfinite(sd)):
        sd = (q[84] - q[16]) / 2.0  # about one σ for a bell shape
    sd = float(sd)
    dist = st.wasserstein(q, window)
    effect = dist / sd if sd > 0 else (math.inf if dist > 0 else 0.0)
    mean = ref.get("mean")
    shift = ((float(window.mean()) - float(mean)) / sd
             if isinstance(mean, int | float) and sd > 0 else None)
    psi = numeric_psi(list(q), list(st.sample_quantiles(window, is_sorted=True)))
    return ColumnDrift(name, "numeric", "KS", d, st.kolmogorov_sf(d, n_eff), "Wasserstein/σ", effect,
                       psi, int(window.size), shift=shift)


def window_frequencies(values: Any) -> dict[str, float]:
    """Shares of each present value (as text) over the window's rows, the profile's layout."""
    arr = np.asarray(values, dtype=object)
    present = [str(v) for v in arr if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not present:
        return {}
    keys, counts = np.unique(np.asarray(present, dtype=str), return_counts=True)
    return {str(k): float(c) / len(arr) for k, c in zip(keys, counts, strict=True)}


def _categorical(name: str, ref: Mapping[str, Any], n_ref: int, values: Any) -> ColumnDrift | None:
    freqs: Mapping[str, float] = ref.get("frequencies") or {}
    window = window_frequencies(values)
    if not freqs or not window:
        return None
    rows = round(sum(window.values()) * len(values))
    known = set(freqs)
    folded: dict[str, float] = {}
    for key, share in window.items():  # values outside the logged top list fall into "__other__"
        target = key if key in known or OTHER not in known else OTHER
        folded[target] = folded.get(target, 0.0) + share
    keys = sorted(known | set(folded))
    ref_share = np.asarray([freqs.get(k, 0.0) for k in keys])
    win_share = np.asarray([folded.get(k, 0.0) for k in keys])
    ref_counts = ref_share / max(ref_share.sum(), 1e-300) * max(n_ref, 1)
    win_counts = win_share / max(win_share.sum(), 1e-300) * rows
    statistic, p = st.chi2_two_sample(ref_counts, win_counts)
    effect = st.jensen_shannon(ref_share, win_share)
    return ColumnDrift(name, "categorical", "chi-square", statistic, p, "Jensen–Shannon", effect,
                       categorical_psi(freqs, folded), rows)


def column_drift(name: str, reference: Mapping[str, Any], n_ref: int, values: Any,
                 split: str = "train") -> ColumnDrift | None:
    """The uncorrected drift of one column against its profile entry (None when not testable)."""
    ref = reference.get(split) or {}
    if reference.get("kind") == "numeric":
        try:
            return _numeric(name, ref, n_ref, values)
        except (TypeError, ValueError):  # the window's column is not numeric: a quality finding
            return None
    return _categorical(name, ref, n_ref, values)


def _decide(columns: Sequence[ColumnDrift], alpha: float) -> list[ColumnDrift]:
    adjusted = st.benjamini_hochberg([c.p_value for c in columns])
    out = []
    for c, p in zip(columns, adjusted, strict=True):
        floor = MIN_WASSERSTEIN_SD if c.kind == "numeric" else MIN_JENSEN_SHANNON
        out.append(replace(c, p_adjusted=p, drifted=p < alpha and c.effect >= floor))
    return sorted(out, key=lambda c: (not c.drifted, c.p_adjusted, -c.effect, c.name))


def reference_from_sample(values: Any, kind: Kind) -> dict[str, Any]:
    """A profile column built from raw reference values (the production run's eval predictions)."""
    if kind == "numeric":
        x = np.asarray(values, dtype=np.float64)
        x = x[np.isfinite(x)]
        return {"kind": "numeric", "train": {
            "quantiles": [float(v) for v in st.sample_quantiles(x)],
            "mean": float(x.mean()) if x.size else None, "std": float(x.std()) if x.size else None}}
    return {"kind": "categorical", "train": {"frequencies": window_frequencies(values)}}


def measure(
    profile: Mapping[str, Any], window: Mapping[str, Any], *, rows: int, exclude: Sequence[str] = (),
    predictions: Sequence[tuple[str, Mapping[str, Any], int, Any]] = (), alpha: float = ALPHA,
    split: str = "train",
) -> DriftReport:
    """Drift and quality of `window` (column → values) against `profile` (eval/profile.json).

    `predictions` holds (name, reference column, reference rows, window values) for the score and
    the predicted class; they are corrected among themselves, not with the features.
    """
    reference: Mapping[str, Any] = profile.get("columns") or {}
    n_ref = int((profile.get("rows") or {}).get(split) or 0)
    features = [c for c in reference if c not in exclude and c != profile.get("target")]
    tested = [d for c in features if c in window
              if (d := column_drift(c, reference[c], n_ref, window[c], split)) is not None]
    preds = [d for name, ref, n, values in predictions
             if (d := column_drift(name, ref, n, values)) is not None]
    quality = assess_quality(reference, window, features, split)
    return DriftReport(rows, alpha, tuple(_decide(tested, alpha)), tuple(_decide(preds, alpha)), quality)
