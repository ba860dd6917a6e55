"""The vectorised paired bootstrap against the slow reference and against known truths."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.judge.bootstrap import (
    EvalData,
    Scored,
    confusion_metric,
    index_chunks,
    naive_paired_deltas,
    paired_deltas,
    percentile_ci,
    point_value,
)


def binary(rows: int = 1500, seed: int = 1, ties: bool = True) -> EvalData:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    pc = np.clip(y * 0.3 + rng.random(rows) * 0.7, 0, 1)
    pp = np.clip(y * 0.25 + rng.random(rows) * 0.75, 0, 1)
    if ties:
        pc = np.round(pc, 2)  # tied scores exercise the half-credit path of ROC-AUC
    return EvalData(y, Scored((pc > 0.5).astype(np.int64), np.column_stack([1 - pc, pc])),
                    Scored((pp > 0.5).astype(np.int64), np.column_stack([1 - pp, pp])), ("0", "1"))


def multiclass(rows: int = 1200, seed: int = 2) -> EvalData:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)

    def model(lift: float) -> Scored:
        p = rng.dirichlet([1, 1, 1], rows)
        p[np.arange(rows), y] += lift
        p /= p.sum(axis=1, keepdims=True)
        return Scored(p.argmax(axis=1), p)

    return EvalData(y, model(0.5), model(0.4), ("a", "b", "c"))


def regression(rows: int = 1500, seed: int = 3) -> EvalData:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows) + 5
    return EvalData(y, Scored(y + rng.normal(size=rows) * 0.5), Scored(y + rng.normal(size=rows) * 0.6))


@pytest.mark.parametrize(("make", "names"), [
    (binary, ["roc_auc", "log_loss", "brier"]),
    (multiclass, ["roc_auc", "log_loss", "brier"]),
    (regression, ["rmse", "mae", "mape", "r2"]),
])
def test_index_path_equals_the_naive_loop_with_the_same_seed(make, names) -> None:
    data = make()
    fast = paired_deltas(data, names, resamples=120, seed=7)
    slow = naive_paired_deltas(data, names, resamples=120, seed=7)
    for name in names:
        assert fast[name].shape == (120,)
        np.testing.assert_allclose(fast[name], slow[name], rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("make", [binary, multiclass])
def test_label_path_matches_the_naive_loop_in_distribution(make) -> None:
    data = make()
    names = ["accuracy", "balanced_accuracy", "precision", "recall", "f1"]
    fast = paired_deltas(data, names, resamples=2000, seed=11)
    slow = naive_paired_deltas(data, names, resamples=300, seed=12)
    for name in names:
        assert abs(np.mean(fast[name]) - np.mean(slow[name])) < 0.006, name
        assert np.std(fast[name]) == pytest.approx(np.std(slow[name]), rel=0.2), name


@pytest.mark.parametrize("make", [binary, multiclass])
def test_confusion_metrics_of_the_full_table_equal_sklearn(make) -> None:
    data = make()
    k = len(data.classes)
    for scored in (data.candidate, data.production):
        assert scored is not None
        conf = np.zeros((1, k, k))
        np.add.at(conf[0], (data.y, scored.pred), 1.0)
        for name in ("accuracy", "balanced_accuracy", "precision", "recall", "f1"):
            assert confusion_metric(name, conf)[0] == pytest.approx(point_value(name, data, scored)), name


def test_ci_contains_the_point_delta_and_is_seeded() -> None:
    data = binary()
    names = ["roc_auc", "accuracy", "f1", "log_loss"]
    first = paired_deltas(data, names, resamples=1000, seed=5)
    again = paired_deltas(data, names, resamples=1000, seed=5)
    assert data.production is not None
    for name in names:
        delta = point_value(name, data, data.candidate) - point_value(name, data, data.production)
        lo, hi = percentile_ci(first[name], 0.95)
        assert lo < delta < hi, name
        np.testing.assert_array_equal(first[name], again[name])
        lo90, hi90 = percentile_ci(first[name], 0.90)
        assert lo <= lo90 < hi90 <= hi


def test_coverage_of_an_accuracy_difference_is_near_nominal() -> None:
    """Candidate right with p=0.85, production with p=0.80, independently: true Δ = 0.05."""
    rng = np.random.default_rng(0)
    hits, trials, rows = 0, 200, 400
    for trial in range(trials):
        y = np.zeros(rows, dtype=np.int64)
        cand = np.where(rng.random(rows) < 0.85, 0, 1)
        prod = np.where(rng.random(rows) < 0.80, 0, 1)
        data = EvalData(y, Scored(cand), Scored(prod), ("0", "1"))
        lo, hi = percentile_ci(paired_deltas(data, ["accuracy"], resamples=400, seed=trial)["accuracy"], 0.9)
        hits += lo <= 0.05 <= hi
    assert 0.82 <= hits / trials <= 0.96


def test_index_chunks_bound_memory_and_cover_every_resample() -> None:
    chunks = list(index_chunks(rows=1000, resamples=25, seed=0, max_cells=10_000))
    assert [c.shape for c in chunks] == [(10, 1000), (10, 1000), (5, 1000)]
    assert all(c.min() >= 0 and c.max() < 1000 for c in chunks)


def test_unpaired_data_is_refused() -> None:
    data = EvalData(np.array([0, 1]), Scored(np.array([0, 1])))
    with pytest.raises(ValueError, match="production"):
        paired_deltas(data, ["accuracy"], resamples=10)
