"""DeLong's paired ROC-AUC interval: exact against the textbook O(n²) form, close to the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.judge.bootstrap import EvalData, Scored, paired_deltas, percentile_ci
from bot.core.judge.delong import paired_auc, placements
from bot.core.judge.metrics import Prediction, score

# Stated tolerance: with 4,000 bootstrap resamples, each DeLong bound lies within 6% of the bootstrap
# interval's width from the bootstrap's bound, and the standard errors agree within 6%.
BOUND_TOLERANCE = 0.06
SE_TOLERANCE = 0.06


def case(rows: int, k: int, seed: int, ties: bool, corr: float) -> EvalData:
    """Two models whose scores share `corr` of their noise; the candidate separates classes a bit better."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, rows)
    shared = rng.normal(size=(rows, k))

    def model(lift: float) -> Scored:
        z = corr * shared + np.sqrt(1 - corr**2) * rng.normal(size=(rows, k))
        z[np.arange(rows), y] += lift
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        if ties:
            p = np.round(p, 2)
            p[:, -1] = 1 - p[:, :-1].sum(axis=1)
        return Scored(p.argmax(axis=1), p)

    return EvalData(y, model(1.0), model(0.8), tuple(str(i) for i in range(k)))


CASES = [  # rows, classes, tied scores, correlation between the models' noise
    (60, 2, False, 0.0), (200, 2, True, 0.5), (1000, 2, False, 0.9), (3000, 2, True, 0.0),
    (300, 3, False, 0.5), (2000, 4, True, 0.8), (150, 3, True, 0.0),
]


def textbook_delong(positive: np.ndarray, cand: np.ndarray, prod: np.ndarray) -> tuple[float, float]:
    """DeLong et al. (1988) by explicit pairwise comparisons: (Δ AUC, variance of Δ)."""
    def components(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = s[positive], s[~positive]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        return psi.mean(axis=1), psi.mean(axis=0)

    (v10c, v01c), (v10p, v01p) = components(cand), components(prod)
    d10, d01 = v10c - v10p, v01c - v01p
    return float(d10.mean()), float(np.var(d10, ddof=1) / len(d10) + np.var(d01, ddof=1) / len(d01))


@pytest.mark.parametrize(("rows", "ties"), [(50, False), (400, True), (901, True)])
def test_fast_delong_equals_the_textbook_form(rows: int, ties: bool) -> None:
    data = case(rows, 2, seed=rows, ties=ties, corr=0.6)
    assert data.production is not None and data.candidate.proba is not None
    assert data.production.proba is not None
    result = paired_auc(data.y, data.candidate.proba, data.production.proba)
    delta, var = textbook_delong(data.y == 1, data.candidate.proba[:, 1], data.production.proba[:, 1])
    assert result.delta == pytest.approx(delta, abs=1e-12)
    assert result.se**2 == pytest.approx(var, rel=1e-9)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_delong_auc_is_the_metric_definition(k: int) -> None:
    data = case(500, k, seed=k, ties=True, corr=0.3)
    assert data.production is not None and data.candidate.proba is not None
    assert data.production.proba is not None
    result = paired_auc(data.y, data.candidate.proba, data.production.proba)
    classes = list(range(k))
    for value, scored in ((result.candidate, data.candidate), (result.production, data.production)):
        assert value == pytest.approx(score("roc_auc", data.y, Prediction(scored.pred, scored.proba, classes)))


@pytest.mark.parametrize(("rows", "k", "ties", "corr"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_delong_interval_agrees_with_the_bootstrap(rows: int, k: int, ties: bool, corr: float, seed: int) -> None:
    data = case(rows, k, seed, ties, corr)
    assert data.production is not None and data.candidate.proba is not None
    assert data.production.proba is not None
    result = paired_auc(data.y, data.candidate.proba, data.production.proba)
    draws = paired_deltas(data, ["roc_auc"], resamples=4000, seed=seed)["roc_auc"]
    lo, hi = percentile_ci(draws, 0.95)
    d_lo, d_hi = result.ci(0.95)
    width = hi - lo
    assert abs(d_lo - lo) <= BOUND_TOLERANCE * width and abs(d_hi - hi) <= BOUND_TOLERANCE * width
    assert result.se == pytest.approx(np.std(draws, ddof=1), rel=SE_TOLERANCE)


def test_placements_of_a_single_class_are_undefined() -> None:
    with pytest.raises(ValueError, match="only one class"):
        placements(np.ones(4, dtype=bool), np.arange(4.0))
