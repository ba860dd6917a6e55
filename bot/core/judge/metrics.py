"""Built-in metrics: their task, their direction, and how each is computed from predictions.

Classification metrics treat the last class of `classes` (the model's `classes_` order) as the
positive class when there are two; with more classes they macro-average (ROC-AUC one-vs-rest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sklearn import metrics as skm

Task = Literal["classification", "regression"]
Array = NDArray[np.float64] | NDArray[np.object_] | NDArray[np.int64]


@dataclass(frozen=True)
class Prediction:
    """What a model produced on the eval rows: labels/values, and class probabilities if any."""

    y_pred: Array
    proba: NDArray[np.float64] | None = None  # shape (rows, classes) in `classes` order
    classes: Sequence[object] = ()


@dataclass(frozen=True)
class Metric:
    name: str
    task: Task
    higher_is_better: bool
    needs_proba: bool
    compute: Callable[[Array, Prediction], float]
    description: str


def _is_binary(p: Prediction) -> bool:
    return len(p.classes) == 2


def _average(p: Prediction) -> str:
    return "binary" if _is_binary(p) else "macro"


def _pos_label(p: Prediction) -> object:
    return p.classes[-1] if _is_binary(p) else 1


def _require_proba(p: Prediction, name: str) -> NDArray[np.float64]:
    if p.proba is None:
        raise ValueError(f"{name} needs predicted probabilities; the model has no predict_proba")
    return p.proba


def _roc_auc(y: Array, p: Prediction) -> float:
    proba = _require_proba(p, "roc_auc")
    if _is_binary(p):
        return float(skm.roc_auc_score(y == p.classes[-1], proba[:, -1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=list(p.classes)))


def _log_loss(y: Array, p: Prediction) -> float:
    return float(skm.log_loss(y, _require_proba(p, "log_loss"), labels=list(p.classes)))


def _brier(y: Array, p: Prediction) -> float:
    proba = _require_proba(p, "brier")
    onehot = (np.asarray(y)[:, None] == np.asarray(p.classes, dtype=object)[None, :]).astype(float)
    if _is_binary(p):
        return float(np.mean((onehot[:, -1] - proba[:, -1]) ** 2))
    return float(np.mean(np.sum((onehot - proba) ** 2, axis=1)))


def _mape(y: Array, p: Prediction) -> float:
    return float(skm.mean_absolute_percentage_error(y, p.y_pred))


def _rmse(y: Array, p: Prediction) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, p.y_pred)))


_DEFINITIONS: list[Metric] = [
    Metric("accuracy", "classification", True, False,
           lambda y, p: float(skm.accuracy_score(y, p.y_pred)), "share of rows predicted right"),
    Metric("balanced_accuracy", "classification", True, False,
           lambda y, p: float(skm.balanced_accuracy_score(y, p.y_pred)), "mean recall over classes"),
    Metric("precision", "classification", True, False,
           lambda y, p: float(skm.precision_score(y, p.y_pred, average=_average(p), pos_label=_pos_label(p),
                                                  zero_division=0)), "precision (macro for multiclass)"),
    Metric("recall", "classification", True, False,
           lambda y, p: float(skm.recall_score(y, p.y_pred, average=_average(p), pos_label=_pos_label(p),
                                               zero_division=0)), "recall (macro for multiclass)"),
    Metric("f1", "classification", True, False,
           lambda y, p: float(skm.f1_score(y, p.y_pred, average=_average(p), pos_label=_pos_label(p),
                                           zero_division=0)), "F1 (macro for multiclass)"),
    Metric("roc_auc", "classification", True, True, _roc_auc, "area under the ROC curve"),
    Metric("log_loss", "classification", False, True, _log_loss, "cross-entropy of the probabilities"),
    Metric("brier", "classification", False, True, _brier, "mean squared error of the probabilities"),
    Metric("rmse", "regression", False, False, _rmse, "root mean squared error"),
    Metric("mae", "regression", False, False,
           lambda y, p: float(skm.mean_absolute_error(y, p.y_pred)), "mean absolute error"),
    Metric("r2", "regression", True, False,
           lambda y, p: float(skm.r2_score(y, p.y_pred)), "coefficient of determination"),
    Metric("mape", "regression", False, False, _mape, "mean absolute percentage error"),
]

METRICS: dict[str, Metric] = {m.name: m for m in _DEFINITIONS}

# Measurements mlbot logs beside the quality metrics; lower is better for all of them.
OPERATIONAL_METRICS = ("model_size_mb", "predict_p95_ms", "train_seconds")


def metrics_for(task: Task) -> list[str]:
    """The built-in metric names that apply to `task`."""
    return [m.name for m in _DEFINITIONS if m.task == task]


def higher_is_better(name: str) -> bool:
    """The direction of a built-in or operational metric (operational ones: lower is better)."""
    metric = METRICS.get(name)
    return metric.higher_is_better if metric else False


def score(name: str, y_true: Array, prediction: Prediction) -> float:
    """Compute metric `name` of `prediction` against `y_true`."""
    return METRICS[name].compute(y_true, prediction)
