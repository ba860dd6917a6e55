"""Built-in metrics: their task, their direction, and how each is computed from predictions (numpy only).

Classification metrics treat the last class of `classes` (the model's `classes_` order) as the
positive class when there are two; with more classes they macro-average (ROC-AUC one-vs-rest).
Each formula follows scikit-learn's definition (zero_division=0, log-loss clipping at the float
epsilon, tied scores counting one half); `tests/analysis/test_metrics.py` cross-checks them.
A metric that is undefined on the rows (ROC-AUC with one class present) raises ValueError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Task = Literal["classification", "regression"]
Array = NDArray[np.float64] | NDArray[np.object_] | NDArray[np.int64]
FloatArray = NDArray[np.float64]
_EPS = float(np.finfo(np.float64).eps)


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


def _require_proba(p: Prediction, name: str) -> NDArray[np.float64]:
    if p.proba is None:
        raise ValueError(f"{name} needs predicted probabilities; the model has no predict_proba")
    return np.asarray(p.proba, dtype=np.float64)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """num / den, 0 where den is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros_like(num, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


# --- label metrics: one confusion matrix ---------------------------------------------------------


def confusion(y: Any, y_pred: Any) -> tuple[NDArray[np.int64], list[Any]]:
    """The confusion matrix (rows truth, columns predicted) over the labels of both, sorted."""
    labels, codes = np.unique(np.concatenate([np.asarray(y), np.asarray(y_pred)]), return_inverse=True)
    k, n = len(labels), len(y)
    codes = codes.reshape(-1)
    matrix = np.bincount(codes[:n] * k + codes[n:], minlength=k * k).reshape(k, k)
    return matrix.astype(np.int64), list(labels)


def from_confusion(name: str, matrix: FloatArray, positive: int | None) -> float:
    """Label metric `name` of a confusion matrix; `positive` is the positive column when binary."""
    diag = np.diagonal(matrix).astype(np.float64)
    truth, predicted = matrix.sum(axis=1).astype(np.float64), matrix.sum(axis=0).astype(np.float64)
    if name == "accuracy":
        return float(diag.sum() / matrix.sum())
    if name == "balanced_accuracy":  # classes never true do not count (scikit-learn warns and drops them)
        return float(np.mean(diag[truth > 0] / truth[truth > 0]))
    if name == "precision":
        per_class = _ratio(diag, predicted)
    elif name == "recall":
        per_class = _ratio(diag, truth)
    else:  # f1 = 2·TP / (2·TP + FP + FN)
        per_class = _ratio(2 * diag, truth + predicted)
    if positive is not None:
        return float(per_class[positive]) if positive >= 0 else 0.0
    return float(per_class.mean())


def _label_metric(name: str) -> Callable[[Array, Prediction], float]:
    def compute(y: Array, p: Prediction) -> float:
        matrix, labels = confusion(y, p.y_pred)
        positive = None
        if _is_binary(p) and name in ("precision", "recall", "f1"):
            positive = next((i for i, label in enumerate(labels) if label == p.classes[-1]), -1)
        return from_confusion(name, matrix.astype(np.float64), positive)

    return compute


# --- ranking ---------------------------------------------------------------------------------------


def midranks(x: FloatArray) -> FloatArray:
    """1-based ranks of `x` with ties sharing their mean rank."""
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(x)]
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = ((first + last + 1) / 2.0)[group]
    return ranks


def binary_auc(positive: NDArray[np.bool_], scores: FloatArray) -> float:
    """ROC-AUC of one binary problem (Mann–Whitney U with midranks); ValueError with one class."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc is undefined: the eval rows hold only one class")
    rank_sum = float(midranks(np.asarray(scores, dtype=np.float64))[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _onehot(y: Array, classes: Sequence[object]) -> NDArray[np.bool_]:
    labels = np.empty(len(classes), dtype=object)
    labels[:] = list(classes)
    return np.asarray(np.asarray(y, dtype=object)[:, None] == labels[None, :], dtype=np.bool_)


def _roc_auc(y: Array, p: Prediction) -> float:
    proba = _require_proba(p, "roc_auc")
    if _is_binary(p):
        return binary_auc(np.asarray(np.asarray(y, dtype=object) == p.classes[-1], dtype=np.bool_), proba[:, -1])
    if not np.allclose(proba.sum(axis=1), 1.0):
        raise ValueError("roc_auc needs probabilities that sum to 1 over the classes")
    truth = _onehot(y, p.classes)
    if not truth.any(axis=1).all():
        raise ValueError("roc_auc: the truth holds labels that are not among the model's classes")
    return float(np.mean([binary_auc(truth[:, j], proba[:, j]) for j in range(len(p.classes))]))


# --- probabilities and errors ----------------------------------------------------------------------


def _log_loss(y: Array, p: Prediction) -> float:
    proba = _require_proba(p, "log_loss")
    if proba.min() < 0 or proba.max() > 1:
        raise ValueError("log_loss needs probabilities between 0 and 1")
    truth = _onehot(y, p.classes)
    if len(p.classes) < 2 or not truth.any(axis=1).all():
        raise ValueError("log_loss needs at least two classes and every truth label among them")
    clipped = np.clip(proba, _EPS, 1 - _EPS)  # scikit-learn clips, it does not renormalise
    return float(np.mean(-np.log(clipped[truth])))


def _brier(y: Array, p: Prediction) -> float:
    proba = _require_proba(p, "brier")
    onehot = _onehot(y, p.classes).astype(np.float64)
    if _is_binary(p):
        return float(np.mean((onehot[:, -1] - proba[:, -1]) ** 2))
    return float(np.mean(np.sum((onehot - proba) ** 2, axis=1)))


def _errors(y: Array, p: Prediction) -> tuple[FloatArray, FloatArray]:
    truth = np.asarray(y, dtype=np.float64)
    return truth, truth - np.asarray(p.y_pred, dtype=np.float64)


def _rmse(y: Array, p: Prediction) -> float:
    return float(np.sqrt(np.mean(_errors(y, p)[1] ** 2)))


def _mae(y: Array, p: Prediction) -> float:
    return float(np.mean(np.abs(_errors(y, p)[1])))


def _mape(y: Array, p: Prediction) -> float:
    truth, err = _errors(y, p)
    return float(np.mean(np.abs(err) / np.maximum(np.abs(truth), _EPS)))


def _r2(y: Array, p: Prediction) -> float:
    truth, err = _errors(y, p)
    residual = float(np.sum(err**2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0:  # scikit-learn's force_finite: perfect → 1, otherwise 0
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / total


_DEFINITIONS: list[Metric] = [
    Metric("accuracy", "classification", True, False, _label_metric("accuracy"), "share of rows predicted right"),
    Metric("balanced_accuracy", "classification", True, False, _label_metric("balanced_accuracy"),
           "mean recall over classes"),
    Metric("precision", "classification", True, False, _label_metric("precision"),
           "precision (macro for multiclass)"),
    Metric("recall", "classification", True, False, _label_metric("recall"), "recall (macro for multiclass)"),
    Metric("f1", "classification", True, False, _label_metric("f1"), "F1 (macro for multiclass)"),
    Metric("roc_auc", "classification", True, True, _roc_auc, "area under the ROC curve"),
    Metric("log_loss", "classification", False, True, _log_loss, "cross-entropy of the probabilities"),
    Metric("brier", "classification", False, True, _brier, "mean squared error of the probabilities"),
    Metric("rmse", "regression", False, False, _rmse, "root mean squared error"),
    Metric("mae", "regression", False, False, _mae, "mean absolute error"),
    Metric("r2", "regression", True, False, _r2, "coefficient of determination"),
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
