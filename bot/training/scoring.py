"""mlbot's own evaluation: predictions, metrics, slices, size and latency of a fitted model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bot.core.judge import metrics
from bot.core.judge.metrics import Prediction
from bot.training.dataset import Dataset


def sanitize(value: object) -> str:
    """Make a slice value safe inside an MLflow metric name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(value)) or "_"


def predict(model: Any, features: pd.DataFrame) -> Prediction:
    """Run the model on the eval features; class probabilities when the model has them."""
    y_pred = np.asarray(model.predict(features))
    classes = list(getattr(model, "classes_", []))
    proba = None
    if classes and hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(features), dtype=float)
    return Prediction(y_pred=y_pred, proba=proba, classes=classes)


def score_all(names: Sequence[str], y_true: Any, prediction: Prediction) -> dict[str, float]:
    """Every metric in `names` that can be computed on these rows (one class only: no roc_auc)."""
    y = np.asarray(y_true)
    scores = {}
    for name in names:
        try:
            scores[name] = metrics.score(name, y, prediction)
        except ValueError:  # e.g. roc_auc on a slice holding a single class
            continue
    return scores


def _subset(prediction: Prediction, mask: Any) -> Prediction:
    proba = prediction.proba[mask] if prediction.proba is not None else None
    return Prediction(y_pred=prediction.y_pred[mask], proba=proba, classes=prediction.classes)


def slice_metrics(names: Sequence[str], dataset: Dataset, prediction: Prediction) -> dict[str, float]:
    """Metrics per value of each slice column, as `slice.<column>.<value>.<metric>`."""
    y = np.asarray(dataset.labels("eval"))
    out: dict[str, float] = {}
    for column in dataset.slices:
        values = dataset.eval[column].astype(object).where(dataset.eval[column].notna(), "__missing__")
        for value in pd.unique(values):
            mask = np.asarray(values == value)
            for name, result in score_all(names, y[mask], _subset(prediction, mask)).items():
                out[f"slice.{sanitize(column)}.{sanitize(value)}.{name}"] = result
    return out


def _columns(prefix: str, prediction: Prediction) -> dict[str, Any]:
    columns: dict[str, Any] = {f"{prefix}_pred": prediction.y_pred}
    if prediction.proba is not None:
        for index, label in enumerate(prediction.classes):
            columns[f"{prefix}_proba.{label}"] = prediction.proba[:, index]
    return columns


def predictions_frame(dataset: Dataset, candidate: Prediction, production: Prediction | None) -> pd.DataFrame:
    """One row per eval row: id, truth, candidate (and production) predictions, slice values."""
    columns: dict[str, Any] = {"row_id": dataset.row_ids().to_numpy(),
                               "truth": dataset.labels("eval").to_numpy()}
    columns.update(_columns("candidate", candidate))
    if production is not None:
        columns.update(_columns("production", production))
    for column in dataset.slices:
        columns[f"slice.{column}"] = dataset.eval[column].to_numpy()
    return pd.DataFrame(columns)


def size_mb(size_bytes: int) -> float:
    """Size of the model file in the safe format (as fit wrote it and as it is logged), in megabytes."""
    return size_bytes / 1_000_000
