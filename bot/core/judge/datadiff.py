"""Data diff between two `eval/profile.json` profiles: schema, row counts, missing values, PSI.

PSI compares the production run's training data (expected) with the candidate's (actual):
numeric features over ten bins cut at the expected deciles, using the 101 logged quantiles as a
piecewise-uniform distribution; categorical features over their logged frequencies. Bin shares
are floored at `PSI_EPSILON` so an empty bin does not make PSI infinite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PSI_EPSILON = 1e-4
SPLIT = "train"


@dataclass(frozen=True)
class ColumnDiff:
    """One column in both profiles; `psi` is None when it cannot be computed (kind or data missing)."""

    name: str
    production_dtype: str | None
    candidate_dtype: str | None
    production_missing: float | None
    candidate_missing: float | None
    psi: float | None = None

    @property
    def missing_delta(self) -> float | None:
        if self.production_missing is None or self.candidate_missing is None:
            return None
        return self.candidate_missing - self.production_missing


@dataclass(frozen=True)
class DataDiff:
    """Schema and distribution changes from production's data to the candidate's."""

    added_columns: tuple[str, ...] = ()
    removed_columns: tuple[str, ...] = ()
    dtype_changes: tuple[tuple[str, str, str], ...] = ()  # (column, production dtype, candidate dtype)
    rows: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)  # split -> (prod, cand)
    columns: tuple[ColumnDiff, ...] = ()  # sorted by PSI, highest first

    @property
    def schema_unchanged(self) -> bool:
        return not (self.added_columns or self.removed_columns or self.dtype_changes)

    @property
    def schema_changes(self) -> list[str]:
        """One short phrase per schema change."""
        return ([f"added {c}" for c in self.added_columns] + [f"removed {c}" for c in self.removed_columns]
                + [f"{c}: {a} → {b}" for c, a, b in self.dtype_changes])

    @property
    def max_psi(self) -> ColumnDiff | None:
        scored = [c for c in self.columns if c.psi is not None]
        return max(scored, key=lambda c: c.psi or 0.0) if scored else None


def psi(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any], epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), epsilon)
    a = np.maximum(np.asarray(actual, dtype=np.float64), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def quantile_cdf(quantiles: np.ndarray[Any, Any], x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """P(X ≤ x) when each gap between consecutive quantiles holds an equal share, uniformly."""
    q = np.asarray(quantiles, dtype=np.float64)
    lo, hi = q[:-1][None, :], q[1:][None, :]
    xs = np.asarray(x, dtype=np.float64)[:, None]
    width = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.where(width > 0, np.clip((xs - lo) / width, 0.0, 1.0), (xs >= lo).astype(np.float64))
    return np.asarray(part.mean(axis=1), dtype=np.float64)


def numeric_psi(expected_q: list[float], actual_q: list[float], bins: int = 10) -> float:
    """PSI over `bins` bins cut at the expected distribution's quantiles (101 values each)."""
    e_q = np.asarray(expected_q, dtype=np.float64)
    a_q = np.asarray(actual_q, dtype=np.float64)
    step = (len(e_q) - 1) // bins
    cuts = np.unique(e_q[step:-1:step])  # inner cut points; ties collapse bins of discrete features
    cdf_e = np.concatenate([[0.0], quantile_cdf(e_q, cuts), [1.0]])
    cdf_a = np.concatenate([[0.0], quantile_cdf(a_q, cuts), [1.0]])
    return psi(np.diff(cdf_e), np.diff(cdf_a))


def categorical_psi(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    """PSI over the union of logged categories (shares renormalised to sum to one)."""
    keys = sorted(set(expected) | set(actual))
    e = np.asarray([expected.get(k, 0.0) for k in keys], dtype=np.float64)
    a = np.asarray([actual.get(k, 0.0) for k in keys], dtype=np.float64)
    e = e / e.sum() if e.sum() > 0 else e
    a = a / a.sum() if a.sum() > 0 else a
    return psi(e, a)


def _column_psi(prod: Mapping[str, Any], cand: Mapping[str, Any]) -> float | None:
    p, c = prod.get(SPLIT) or {}, cand.get(SPLIT) or {}
    kind = prod.get("kind") if prod.get("kind") == cand.get("kind") else None
    try:
        if kind == "numeric" and p.get("quantiles") and c.get("quantiles"):
            if any(v is None or not math.isfinite(v) for v in [*p["quantiles"], *c["quantiles"]]):
                return None
            return numeric_psi(p["quantiles"], c["quantiles"])
        if kind == "categorical" and p.get("frequencies") and c.get("frequencies"):
            return categorical_psi(p["frequencies"], c["frequencies"])
    except (TypeError, ValueError):
        return None
    return None


def _missing(column: Mapping[str, Any]) -> float | None:
    value = (column.get(SPLIT) or {}).get("missing")
    return float(value) if isinstance(value, int | float) else None


def diff_profiles(production: Mapping[str, Any], candidate: Mapping[str, Any]) -> DataDiff:
    """Compare two profiles (see docs/internals.md) column by column."""
    prod_cols: Mapping[str, Any] = production.get("columns") or {}
    cand_cols: Mapping[str, Any] = candidate.get("columns") or {}
    shared = [c for c in cand_cols if c in prod_cols]
    columns = [
        ColumnDiff(name, prod_cols[name].get("dtype"), cand_cols[name].get("dtype"),
                   _missing(prod_cols[name]), _missing(cand_cols[name]),
                   _column_psi(prod_cols[name], cand_cols[name]))
        for name in shared
    ]
    columns.sort(key=lambda c: (-(c.psi if c.psi is not None else -1.0), c.name))
    prod_rows, cand_rows = production.get("rows") or {}, candidate.get("rows") or {}
    return DataDiff(
        added_columns=tuple(c for c in cand_cols if c not in prod_cols),
        removed_columns=tuple(c for c in prod_cols if c not in cand_cols),
        dtype_changes=tuple(sorted((c.name, str(c.production_dtype), str(c.candidate_dtype))
                                   for c in columns if c.production_dtype != c.candidate_dtype)),
        rows={split: (prod_rows.get(split), cand_rows.get(split))
              for split in sorted(set(prod_rows) | set(cand_rows))},
        columns=tuple(columns),
    )
