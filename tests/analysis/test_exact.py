"""Verdicts that do not depend on float rounding: exact ties at the margin, exact count deltas, clean printing."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bot.core.judge.bootstrap import EvalData, Scored, paired_deltas
from bot.core.judge.compare import compare_runs
from bot.core.judge.gates import decide
from bot.core.judge.intervals import tie_tolerance
from bot.core.judge.table import PredictionTable
from bot.core.judge.verdict import fmt
from bot.core.report import fmt_num

from .builders import CANDIDATE, PRODUCTION


def _ways(a: int, b: int, n: int) -> list[float]:
    """The same exact difference a/n − b/n computed in the orders code tends to use."""
    return [a / n - b / n, (a - b) / n, float(Fraction(a, n) - Fraction(b, n)), -(b / n - a / n),
            round(a / n, 3) - round(b / n, 3)]


# (bound is lo or hi, a, b, n, rule, margin, expected): the bound a/n − b/n lies exactly on the margin.
TIES = [
    # non-inferiority, max_drop M: a lower bound exactly at −M is NOT a pass (the rule is lo > −M) …
    ("lo", 464, 469, 500, "max_drop", 0.01, "inconclusive"),
    ("lo", 90, 91, 100, "max_drop", 0.01, "inconclusive"),
    ("lo", 1, 4, 100, "max_drop", 0.03, "inconclusive"),
    ("lo", 7, 9, 20, "max_drop", 0.1, "inconclusive"),
    # … and an upper bound exactly at −M is not a fail (the rule is hi < −M)
    ("hi", 464, 469, 500, "max_drop", 0.01, "inconclusive"),
    ("hi", 95, 98, 100, "max_drop", 0.03, "inconclusive"),
    # superiority, min_gain G: a lower bound exactly at G passes (the rule is lo ≥ G) …
    ("lo", 469, 464, 500, "min_gain", 0.01, "pass"),
    ("lo", 93, 91, 100, "min_gain", 0.02, "pass"),
    ("lo", 33, 30, 100, "min_gain", 0.03, "pass"),
    # … and an upper bound exactly at G is not a fail (the rule is hi < G)
    ("hi", 469, 464, 500, "min_gain", 0.01, "inconclusive"),
    ("hi", 33, 30, 100, "min_gain", 0.03, "inconclusive"),
]


@pytest.mark.parametrize(("bound", "a", "b", "n", "rule", "margin", "expected"), TIES)
def test_a_bound_exactly_on_the_margin_gets_the_documented_verdict_however_it_was_computed(
        bound: str, a: int, b: int, n: int, rule: str, margin: float, expected: str) -> None:
    tolerance = tie_tolerance("accuracy", n)
    for value in _ways(a, b, n):
        ci = (value, value + 0.05) if bound == "lo" else (value - 0.05, value)
        assert decide(ci, True, tolerance=tolerance, **{rule: margin}) == expected, (value, ci)
        # the same tie on a lower-is-better metric (Δ negated) is judged the same way
        flipped = (-ci[1], -ci[0])
        assert decide(flipped, False, tolerance=tolerance, **{rule: margin}) == expected, (value, flipped)


def test_the_tolerance_stays_below_the_metric_grid() -> None:
    for rows in (10, 500, 100_000, 10_000_000):
        assert tie_tolerance("accuracy", rows) < 1 / rows / 100
        assert tie_tolerance("f1", rows) <= max(1 / rows**2 / 100, 1e-13)
        assert tie_tolerance("roc_auc", rows) == 1e-12


def _labels(cand_right: int, prod_right: int, n: int) -> PredictionTable:
    y = np.ones(n, dtype=np.int64)
    cand = np.where(np.arange(n) < cand_right, 1, 0)
    prod = np.where(np.arange(n)[::-1] < prod_right, 1, 0)
    return PredictionTable({"row_id": np.arange(n), "truth": y, "candidate_pred": cand, "production_pred": prod})


def test_accuracy_delta_comes_from_counts() -> None:
    result = compare_runs(CANDIDATE, PRODUCTION, _labels(469, 464, 500), model="m", metrics=["accuracy"],
                          resamples=200)
    accuracy = result.metric("accuracy")
    assert accuracy is not None
    assert 469 / 500 - 464 / 500 != 0.01  # what float subtraction would have given
    assert accuracy.delta == 0.01 and fmt_num(accuracy.delta, True) == "+0.0100"


def test_accuracy_bootstrap_draws_lie_exactly_on_the_one_over_n_grid() -> None:
    rng = np.random.default_rng(0)
    n = 500
    y = rng.integers(0, 2, n)
    flip = rng.random((2, n)) < np.array([[0.1], [0.12]])
    data = EvalData(y, Scored(np.where(flip[0], 1 - y, y)), Scored(np.where(flip[1], 1 - y, y)), ("0", "1"))
    draws = paired_deltas(data, ["accuracy"], resamples=500, seed=1)["accuracy"]
    steps = np.round(draws * n).astype(int)
    assert np.array_equal(draws, steps / n)


def test_numbers_print_without_float_noise() -> None:
    noise = 0.9 - 0.9000000000000001
    assert noise != 0
    assert fmt_num(noise) == "0.0000" and fmt_num(noise, True) == "0.0000" and fmt(noise) == "0"
    assert fmt_num(-1.11e-16, True) == "0.0000"
    assert fmt_num(0.0004, True) == "+0.0004"  # a real small difference is still shown
