"""The data profile logged as `eval/profile.json`: types, missing values, quantiles, histograms.

Histogram edges come from the train split and eval values are clipped into them, so the compare
side can compute drift (PSI) bin by bin without re-binning.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from bot.training.dataset import Dataset

BINS = 20
TOP_VALUES = 50
OTHER = "__other__"


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _is_numeric(series: pd.Series, is_class_target: bool) -> bool:
    return (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
            and not is_class_target)


def _edges(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return np.linspace(0.0, 1.0, BINS + 1)
    low, high = float(values.min()), float(values.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, BINS + 1)


def _numeric(series: pd.Series, edges: np.ndarray) -> dict[str, Any]:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    present = values[~np.isnan(values)]
    counts, _ = np.histogram(np.clip(present, edges[0], edges[-1]), bins=edges)
    quantiles = np.percentile(present, np.arange(101)) if present.size else np.full(101, np.nan)
    return {
        "missing": float(1 - present.size / max(len(values), 1)),
        "quantiles": [_finite(q) for q in quantiles],
        "histogram": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        "mean": _finite(float(present.mean())) if present.size else None,
        "std": _finite(float(present.std())) if present.size else None,
    }


def _categorical(series: pd.Series) -> dict[str, Any]:
    total = max(len(series), 1)
    shares = series.dropna().astype(str).value_counts() / total
    top = {str(k): float(v) for k, v in shares.head(TOP_VALUES).items()}
    rest = float(shares.iloc[TOP_VALUES:].sum())
    if rest > 0:
        top[OTHER] = rest
    return {"missing": float(series.isna().mean()) if len(series) else 0.0, "frequencies": top}


def profile(dataset: Dataset, task: str) -> dict[str, Any]:
    """Profile every column of train and eval (the target included)."""
    columns: dict[str, Any] = {}
    for column in dataset.train.columns:
        train, evaluation = dataset.train[column], dataset.eval[column]
        is_class_target = column == dataset.target and task == "classification"
        if _is_numeric(train, is_class_target):
            edges = _edges(pd.to_numeric(train, errors="coerce").dropna().to_numpy(dtype=float))
            entry = {"kind": "numeric", "train": _numeric(train, edges), "eval": _numeric(evaluation, edges)}
        else:
            entry = {"kind": "categorical", "train": _categorical(train), "eval": _categorical(evaluation)}
        columns[str(column)] = {"dtype": str(train.dtype), **entry}
    return {"target": dataset.target, "task": task,
            "rows": {"train": len(dataset.train), "eval": len(dataset.eval)}, "columns": columns}
