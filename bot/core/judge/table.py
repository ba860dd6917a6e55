"""The per-row eval predictions as the core sees them: named numpy columns of one length.

The MLflow adapter reads `eval/predictions.parquet` into this table, so the judge never needs pandas.
Like a DataFrame, `len()` is the number of rows and iterating yields the column names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bot.core.errors import ConfigError, Problem
from bot.core.judge.bootstrap import EvalData, Scored

Column = NDArray[Any]


class PredictionTable:
    """Columns by name (`truth`, `candidate_pred`, `candidate_proba.<class>`, `slice.<column>`, …)."""

    def __init__(self, columns: Mapping[str, ArrayLike]) -> None:
        self._columns: dict[str, Column] = {str(name): np.asarray(values) for name, values in columns.items()}
        lengths = {name: len(values) for name, values in self._columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"prediction columns differ in length: {lengths}")
        self.rows = next(iter(lengths.values()), 0)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._columns)

    def __getitem__(self, name: str) -> Column:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        return f"PredictionTable(rows={self.rows}, columns={list(self._columns)})"


def is_missing(values: Column) -> NDArray[np.bool_]:
    """Which entries are missing (None or NaN), for any column dtype."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "O":
        return np.fromiter((v is None or (isinstance(v, float) and v != v) for v in values.tolist()),
                           dtype=np.bool_, count=len(values))
    return np.zeros(len(values), dtype=np.bool_)


def as_text(values: Column, missing: str) -> NDArray[np.object_]:
    """Each entry as text (`str()` of the value), `missing` where it is None or NaN."""
    absent = is_missing(values)
    out = np.empty(len(values), dtype=object)
    out[:] = [missing if gone else str(v) for v, gone in zip(values.tolist(), absent.tolist(), strict=True)]
    return out


def value_counts(values: NDArray[np.object_]) -> list[tuple[str, int]]:
    """(value, count) pairs, most frequent first; ties keep the order of first appearance."""
    uniq, first, counts = np.unique(values, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-int(counts[i]), int(first[i])))
    return [(str(uniq[i]), int(counts[i])) for i in order]


# --- predictions table -> EvalData -------------------------------------------------------------


def _unique(values: list[Any]) -> list[Any]:
    """Distinct values in order of first appearance (unhashable-safe enough for labels)."""
    return list(dict.fromkeys(values))


def _classes(table: PredictionTable, prefixes: Sequence[str]) -> list[str]:
    """Class labels in the models' `classes_` order, else sorted over truth and predictions."""
    label_columns = ("truth", *(f"{p}_pred" for p in prefixes))
    for prefix in prefixes:
        cols = [c for c in table.columns if c.startswith(f"{prefix}_proba.")]
        if cols:
            named = [c.split(".", 1)[1] for c in cols]
            seen = {str(v) for c in label_columns for v in table[c].tolist()}
            return named + sorted(seen - set(named))
    values = _unique([v for c in label_columns for v in table[c].tolist()])
    try:
        ordered = sorted(values)
    except TypeError:
        ordered = sorted(values, key=str)
    return [str(v) for v in ordered]


def eval_data(table: PredictionTable, task: str) -> EvalData:
    """Turn the logged predictions table into arrays; labels become indices into the class list."""
    missing = [c for c in ("truth", "candidate_pred") if c not in table]
    if missing:
        raise ConfigError([Problem("eval/predictions.parquet", c, "column is missing") for c in missing],
                          hint="re-run `mlbot train` with this mlbot version")
    prefixes = ["candidate"] + (["production"] if "production_pred" in table else [])
    if task == "regression":
        scored = {p: Scored(np.asarray(table[f"{p}_pred"], dtype=np.float64)) for p in prefixes}
        truth = np.asarray(table["truth"], dtype=np.float64)
        return EvalData(truth, scored["candidate"], scored.get("production"))
    classes = _classes(table, prefixes)
    index = {c: i for i, c in enumerate(classes)}

    def codes(column: str) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.asarray([index[str(v)] for v in table[column].tolist()], dtype=np.int64)

    def proba(prefix: str) -> np.ndarray[Any, np.dtype[np.float64]] | None:
        cols = [f"{prefix}_proba.{c}" for c in classes]
        if not any(c in table for c in cols):
            return None
        return np.column_stack([np.asarray(table[c], dtype=np.float64) if c in table
                                else np.zeros(table.rows) for c in cols])

    scored = {p: Scored(codes(f"{p}_pred"), proba(p)) for p in prefixes}
    return EvalData(codes("truth"), scored["candidate"], scored.get("production"), tuple(classes))
