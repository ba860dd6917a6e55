"""Which method judges each metric, and the delta method against the bootstrap it replaces on big eval sets."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.judge.bootstrap import EvalData, Scored, paired_deltas, percentile_ci
from bot.core.judge.intervals import (
    BOOTSTRAP,
    DELONG,
    DELTA_METHOD,
    DELTA_METHOD_ROWS,
    MULTINOMIAL,
    delta_method,
    paired_intervals,
)

# Stated tolerance: with 2,000 resamples, each delta-method bound lies within 10% of the bootstrap
# interval's width from the bootstrap's bound (heavy-tailed errors included), standard errors within 6%.
BOUND_TOLERANCE = 0.10
SE_TOLERANCE = 0.06


def classification(rows: int, k: int, seed: int) -> EvalData:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, rows)

    def model(lift: float) -> Scored:
        p = rng.dirichlet(np.ones(k), rows)
        p[np.arange(rows), y] += lift
        p /= p.sum(axis=1, keepdims=True)
        return Scored(p.argmax(axis=1), p)

    return EvalData(y, model(0.6), model(0.5), tuple(str(i) for i in range(k)))


def regression(rows: int, seed: int) -> EvalData:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows) * 2 + 5
    return EvalData(y, Scored(y + rng.standard_t(3, size=rows) * 0.5), Scored(y + rng.normal(size=rows) * 0.55))


@pytest.mark.parametrize(("make", "names"), [
    (lambda seed: classification(DELTA_METHOD_ROWS, 2, seed), ["log_loss", "brier"]),
    (lambda seed: classification(DELTA_METHOD_ROWS, 3, seed), ["log_loss", "brier"]),
    (lambda seed: regression(DELTA_METHOD_ROWS, seed), ["rmse", "mae", "r2", "mape"]),
    (lambda seed: regression(4 * DELTA_METHOD_ROWS, seed), ["rmse", "mae", "r2", "mape"]),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_delta_method_agrees_with_the_bootstrap(make, names: list[str], seed: int) -> None:
    data = make(seed)
    draws = paired_deltas(data, names, resamples=2000, seed=seed)
    found = paired_intervals(data, names, [0.95], resamples=2000, seed=seed)
    for name in names:
        lo, hi = percentile_ci(draws[name], 0.95)
        d_lo, d_hi = found[name].cis[0.95]
        assert found[name].method == DELTA_METHOD
        assert max(abs(d_lo - lo), abs(d_hi - hi)) <= BOUND_TOLERANCE * (hi - lo), name
        assert found[name].se == pytest.approx(np.std(draws[name], ddof=1), rel=SE_TOLERANCE), name


def test_delta_method_delta_is_the_difference_of_the_metric() -> None:
    data = regression(1000, 3)
    assert data.production is not None
    delta, se = delta_method("rmse", data)
    rmse = [float(np.sqrt(np.mean((data.y - s.pred) ** 2))) for s in (data.candidate, data.production)]
    assert delta == pytest.approx(rmse[0] - rmse[1]) and se > 0


def test_each_metric_gets_its_exact_or_fast_method() -> None:
    small, big = classification(500, 2, 0), classification(DELTA_METHOD_ROWS, 2, 0)
    names = ["accuracy", "f1", "roc_auc", "log_loss"]
    assert {n: i.method for n, i in paired_intervals(small, names, [0.95], resamples=100, seed=0).items()} == {
        "accuracy": MULTINOMIAL, "f1": MULTINOMIAL, "roc_auc": DELONG, "log_loss": BOOTSTRAP}
    assert paired_intervals(big, names, [0.95], resamples=100, seed=0)["log_loss"].method == DELTA_METHOD
    forced = paired_intervals(big, names, [0.95], resamples=100, seed=0, method="bootstrap")
    assert {i.method for n, i in forced.items() if n not in ("accuracy", "f1")} == {BOOTSTRAP}


def test_a_slice_with_one_class_has_no_auc_interval() -> None:
    data = classification(200, 2, 0)
    one_class = data.subset(data.y == 1)
    assert "roc_auc" not in paired_intervals(one_class, ["roc_auc"], [0.95], resamples=50, seed=0)


def test_metrics_that_need_probabilities_have_no_interval_without_them() -> None:
    data = classification(300, 2, 0)
    assert data.production is not None
    labels_only = EvalData(data.y, Scored(data.candidate.pred), Scored(data.production.pred), data.classes)
    found = paired_intervals(labels_only, ["accuracy", "roc_auc", "log_loss"], [0.95], resamples=50, seed=0)
    assert set(found) == {"accuracy"}
