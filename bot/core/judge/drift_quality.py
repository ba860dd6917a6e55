"""Data quality of a production window against the reference profile: schema, missing, range, unseen."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OTHER = "__other__"  # the profile's bucket for values outside its top list (bot.training.profile)

EXAMPLES = 5  # unseen categories named in a finding


@dataclass(frozen=True)
class ColumnQuality:
    """One column's quality: missing shares, share outside the training range, unseen categories."""

    name: str
    missing_reference: float
    missing_window: float
    out_of_range: float = 0.0  # numeric: share of present values below the min or above the max
    unseen: float = 0.0  # categorical: share of rows with a value training never saw
    unseen_examples: tuple[str, ...] = ()

    @property
    def missing_increase(self) -> float:
        return self.missing_window - self.missing_reference


@dataclass(frozen=True)
class Quality:
    """Schema changes and per-column findings."""

    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    kind_changes: tuple[tuple[str, str, str], ...] = ()  # (column, reference kind, window kind)
    columns: tuple[ColumnQuality, ...] = ()

    @property
    def schema_changes(self) -> list[str]:
        """One short phrase per schema change."""
        return ([f"missing {c}" for c in self.missing_columns] + [f"new {c}" for c in self.extra_columns]
                + [f"{c}: {a} → {b}" for c, a, b in self.kind_changes])

    def worst(self, attribute: str) -> ColumnQuality | None:
        """The column with the highest `missing_increase`, `out_of_range` or `unseen`."""
        scored = [c for c in self.columns if getattr(c, attribute) > 0]
        return max(scored, key=lambda c: getattr(c, attribute)) if scored else None


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _numeric_values(values: Any) -> np.ndarray[Any, Any] | None:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _column(name: str, ref_col: Mapping[str, Any], split: str, values: Any,
            numbers: np.ndarray[Any, Any] | None) -> ColumnQuality:
    ref = ref_col.get(split) or {}
    ref_missing = float(ref.get("missing") or 0.0)
    n = max(len(values), 1)
    if numbers is not None:
        present = numbers[np.isfinite(numbers)]
        missing = 1.0 - present.size / n
        q = ref.get("quantiles") or []
        out = 0.0
        if ref_col.get("kind") == "numeric" and q and q[0] is not None and q[-1] is not None and present.size:
            out = float(np.count_nonzero((present < q[0]) | (present > q[-1])) / present.size)
        return ColumnQuality(name, ref_missing, missing, out_of_range=out)
    arr = np.asarray(values, dtype=object)
    absent = np.fromiter((_is_missing(v) for v in arr), dtype=bool, count=len(arr))
    freqs: Mapping[str, float] = ref.get("frequencies") or {}
    unseen_share = 0.0
    examples: tuple[str, ...] = ()
    if freqs and OTHER not in freqs:  # with "__other__" the full list of categories was not logged
        present = np.asarray([str(v) for v in arr[~absent]], dtype=str)
        keys, counts = np.unique(present, return_counts=True) if present.size else (np.array([]), np.array([]))
        new = [(int(c), str(k)) for k, c in zip(keys, counts, strict=True) if str(k) not in freqs]
        unseen_share = sum(c for c, _ in new) / n
        examples = tuple(k for _, k in sorted(new, key=lambda t: (-t[0], t[1]))[:EXAMPLES])
    return ColumnQuality(name, ref_missing, float(absent.mean()) if len(arr) else 0.0,
                         unseen=unseen_share, unseen_examples=examples)


def window_kind(values: Any) -> tuple[str, np.ndarray[Any, Any] | None]:
    """The window column's kind ("numeric" when every present value is a number) and its numbers."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return "numeric", arr.astype(np.float64)
    return "categorical", None


def assess_quality(reference: Mapping[str, Any], window: Mapping[str, Any], features: Sequence[str],
                   split: str = "train") -> Quality:
    """Schema changes and per-column quality of the window's feature columns."""
    missing = tuple(c for c in features if c not in window)
    extra = tuple(sorted(c for c in window if c not in reference))
    changes, columns = [], []
    for name in features:
        if name not in window:
            continue
        kind, numbers = window_kind(window[name])
        ref_kind = str(reference[name].get("kind"))
        if ref_kind == "numeric" and kind != "numeric":
            changes.append((name, ref_kind, kind))
        columns.append(_column(name, reference[name], split, window[name],
                               numbers if ref_kind == "numeric" else None))
    return Quality(missing, extra, tuple(changes), tuple(columns))
