"""The numpy metrics against scikit-learn's, on many random cases (binary, multiclass, ties, strings)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from bot.core.judge.metrics import METRICS, Prediction, metrics_for, score

Case = tuple[np.ndarray, Prediction]


def _labels(kind: str, k: int) -> list[Any]:
    return {"int": list(range(k)), "str": [f"class-{chr(97 + i)}" for i in range(k)],
            "neg": [-1, 1] if k == 2 else list(range(-1, k - 1))}[kind]


def classification(seed: int, k: int, kind: str, ties: bool, rows: int) -> Case:
    """Random truth, probabilities with some signal, and labels from the probabilities (sorted classes)."""
    rng = np.random.default_rng(seed)
    classes = _labels(kind, k)
    y_idx = rng.integers(0, k, rows)
    proba = rng.dirichlet(np.ones(k), rows)
    proba[np.arange(rows), y_idx] += rng.random() * 2
    proba /= proba.sum(axis=1, keepdims=True)
    if ties:
        proba = np.array([rng.multinomial(10, row) for row in proba]) / 10.0  # tenths: many tied scores
    pred_idx = proba.argmax(axis=1)
    if seed % 3 == 0:  # some predictions independent of the scores, so labels and scores disagree
        pred_idx = np.where(rng.random(rows) < 0.3, rng.integers(0, k, rows), pred_idx)
    labels = np.asarray(classes, dtype=object if kind == "str" else np.int64)
    return labels[y_idx], Prediction(labels[pred_idx], proba, classes)


def regression(seed: int, rows: int) -> Case:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows) * rng.random() * 10
    if seed % 4 == 0:
        y[: rows // 5] = 0.0  # zeros exercise MAPE's epsilon floor
    return y, Prediction(y + rng.normal(size=rows) * rng.random() * 3)


def reference(name: str, y: np.ndarray, p: Prediction) -> float:
    """scikit-learn's value, called the way mlbot's metrics used to call it."""
    classes = list(p.classes)
    binary = len(classes) == 2
    average = "binary" if binary else "macro"
    pos = classes[-1] if binary else 1
    proba = p.proba
    calls: dict[str, Callable[[], float]] = {
        "accuracy": lambda: skm.accuracy_score(y, p.y_pred),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, p.y_pred),
        "precision": lambda: skm.precision_score(y, p.y_pred, average=average, pos_label=pos, zero_division=0),
        "recall": lambda: skm.recall_score(y, p.y_pred, average=average, pos_label=pos, zero_division=0),
        "f1": lambda: skm.f1_score(y, p.y_pred, average=average, pos_label=pos, zero_division=0),
        "roc_auc": lambda: skm.roc_auc_score(y == classes[-1], proba[:, -1]) if binary  # type: ignore[index]
        else skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes),
        "log_loss": lambda: skm.log_loss(y, proba, labels=classes),
        "rmse": lambda: np.sqrt(skm.mean_squared_error(y, p.y_pred)),
        "mae": lambda: skm.mean_absolute_error(y, p.y_pred),
        "r2": lambda: skm.r2_score(y, p.y_pred),
        "mape": lambda: skm.mean_absolute_percentage_error(y, p.y_pred),
    }
    if name == "brier" and binary:
        return float(skm.brier_score_loss(y == classes[-1], proba[:, -1]))  # type: ignore[index]
    if name == "brier":  # multiclass brier: scikit-learn's multiclass form is the sum over classes
        return float(skm.brier_score_loss(y, proba, labels=classes, scale_by_half=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(calls[name]())


CLASSIFICATION_CASES = [
    (seed, k, kind, ties, rows)
    for seed, (k, kind, ties, rows) in enumerate(
        [(k, kind, ties, rows) for k in (2, 3, 5) for kind in ("int", "str", "neg") for ties in (False, True)
         for rows in (7, 60, 400)]
    )
]


@pytest.mark.parametrize(("seed", "k", "kind", "ties", "rows"), CLASSIFICATION_CASES)
def test_classification_metrics_match_scikit_learn(seed: int, k: int, kind: str, ties: bool, rows: int) -> None:
    y, p = classification(seed, k, kind, ties, rows)
    for name in metrics_for("classification"):
        expected = reference(name, y, p)
        if np.isnan(expected):  # scikit-learn warns and returns NaN where mlbot says "undefined"
            with pytest.raises(ValueError):
                score(name, y, p)
            continue
        assert score(name, y, p) == pytest.approx(expected, rel=1e-12, abs=1e-12), name


@pytest.mark.parametrize("seed", range(24))
def test_regression_metrics_match_scikit_learn(seed: int) -> None:
    y, p = regression(seed, rows=5 + seed * 37)
    for name in metrics_for("regression"):
        assert score(name, y, p) == pytest.approx(reference(name, y, p), rel=1e-10, abs=1e-12), name


def test_degenerate_rows_follow_scikit_learn_zero_division() -> None:
    y = np.array(["no", "no", "no"], dtype=object)
    p = Prediction(np.array(["no", "no", "no"], dtype=object), np.array([[0.9, 0.1]] * 3), ["no", "yes"])
    for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
        assert score(name, y, p) == pytest.approx(reference(name, y, p)), name
    with pytest.raises(ValueError, match="only one class"):
        score("roc_auc", y, p)
    constant = np.full(5, 2.0)
    assert score("r2", constant, Prediction(constant)) == 1.0
    assert score("r2", constant, Prediction(constant + 1)) == 0.0


def test_probability_metrics_without_probabilities_say_so() -> None:
    for name in (n for n, m in METRICS.items() if m.needs_proba):
        with pytest.raises(ValueError, match="predict_proba"):
            score(name, np.array([0, 1]), Prediction(np.array([0, 1]), None, [0, 1]))
