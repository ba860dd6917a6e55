"""What an inconclusive gate says would decide it, negative flips, and the latency limits of `model:`."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.judge.advice import rows_to_decide
from bot.core.judge.compare import RunView, compare_runs
from bot.core.judge.flips import Flips, count_flips, wilson
from bot.core.judge.gates import evaluate_gate
from bot.core.judge.table import PredictionTable
from bot.core.policy import load_policies

from .builders import CANDIDATE, PRODUCTION, comparison, metric, predictions


def gate(text: str):
    return load_policies({"policies/t.yaml": f"gates:\n  - {text}\n"}).gates[0]


# --- inconclusive: the margin these rows rule out, the rows that would decide -------------------


def test_rows_to_decide_scales_the_standard_error_to_clear_the_margin_with_80_percent_power() -> None:
    # 500 rows, se 0.01, Δ 0.028 from the margin: (1.96 + 0.8416)·0.01/0.028 ≈ 1.0006 → about 500 rows
    assert rows_to_decide(500, 0.01, 0.028, 0.95) == 501
    assert rows_to_decide(500, 0.01, 0.014, 0.95) == 2003  # half the distance, four times the rows
    assert rows_to_decide(500, 0.01, 0.0, 0.95) is None  # Δ on the margin: never decided


def test_an_inconclusive_gate_says_what_margin_the_rows_rule_out_and_how_many_rows_would_decide() -> None:
    c = comparison(metric("roc_auc", 0.99, 0.991, (-0.009, 0.006)))  # Δ −0.001, se ≈ 0.0038
    result = evaluate_gate(gate("{name: g, metric: roc_auc, vs_production: {max_drop: 0.005}}"), c, None)
    assert result.verdict == "inconclusive"
    assert "these 114 rows rule out a drop larger than 0.009" in result.reason
    assert "about 820 eval rows would decide it at the observed Δ (80% power)" in result.reason


def test_the_advice_speaks_in_the_metric_direction() -> None:
    c = comparison(metric("log_loss", 0.30, 0.29, (-0.005, 0.02), higher=False))
    result = evaluate_gate(gate("{name: g, metric: log_loss, vs_production: {max_drop: 0.01}}"), c, None)
    assert result.verdict == "inconclusive" and "rule out a drop larger than 0.02" in result.reason


# --- negative flips -----------------------------------------------------------------------------


def test_flips_count_both_directions_with_example_row_ids() -> None:
    truth = np.array([1, 1, 0, 0, 1, 0])
    prod = np.array([1, 1, 0, 1, 0, 0])
    cand = np.array([0, 1, 1, 0, 1, 0])
    flips = count_flips(truth, cand, prod, np.array(["a", "b", "c", "d", "e", "f"], dtype=object))
    assert flips == Flips(negative=2, positive=2, rows=6, examples=("a", "c"))


def test_compare_counts_flips_on_classification_with_production_only() -> None:
    table = predictions(rows=400)
    result = compare_runs(CANDIDATE, PRODUCTION, table, model="m", metrics=["accuracy"], resamples=50)
    truth, cand, prod = table["truth"], table["candidate_pred"], table["production_pred"]
    assert result.flips is not None
    assert result.flips.negative == int(np.sum((prod == truth) & (cand != truth)))
    assert result.flips.examples[0] == str(np.flatnonzero((prod == truth) & (cand != truth))[0])
    first = compare_runs(CANDIDATE, None, table, model="m", metrics=["accuracy"])
    y = np.arange(10.0)
    regression = compare_runs(CANDIDATE, PRODUCTION, PredictionTable(
        {"truth": y, "candidate_pred": y, "production_pred": y + 1}), model="m", metrics=["rmse"], resamples=20)
    assert first.flips is None and regression.flips is None


def test_wilson_interval_is_sensible_at_zero() -> None:
    lo, hi = wilson(0, 114)
    assert lo == 0 and hi == pytest.approx(3.84 / (114 + 3.84), rel=0.01)


@pytest.mark.parametrize(("flips", "limit", "verdict", "fragment"), [
    (Flips(1, 9, 2000), 0.01, "pass", "within the limit 1%"),
    (Flips(100, 9, 1000), 0.05, "fail", "above the limit 5%"),
    (Flips(3, 5, 114), 0.02, "inconclusive", "3 of 114 rows production got right are now wrong"),
    (None, 0.02, "inconclusive", "only counted for classification"),
])
def test_the_negative_flip_gate(flips: Flips | None, limit: float, verdict: str, fragment: str) -> None:
    c = comparison(metric("accuracy", 0.95, 0.94, (0.0, 0.02)), flips=flips)
    result = evaluate_gate(gate(f"{{name: g, max_negative_flip_rate: {limit}}}"), c, None)
    assert (result.verdict, result.threshold) == (verdict, limit) and fragment in result.reason, result.reason


def test_the_negative_flip_gate_skips_before_the_first_promotion() -> None:
    c = comparison(metric("accuracy", 0.95, None, None), first=True)
    assert evaluate_gate(gate("{name: g, max_negative_flip_rate: 0.01}"), c, None).verdict == "skipped"


# --- latency: absolute p95 on its CI, ratio to production ----------------------------------------


def _run(**metrics: float) -> RunView:
    return RunView("c", metrics={"model_size_mb": 3.2, **metrics})


P95 = {"predict_p95_ms": 12.0, "predict_p95_ms_ci_low": 11.0, "predict_p95_ms_ci_high": 13.5}
RATIO = {"latency_ratio": 1.1, "latency_ratio_ci_low": 1.02, "latency_ratio_ci_high": 1.2}


@pytest.mark.parametrize(("rule", "facts", "first", "verdict", "fragment"), [
    ("{max_p95_latency_ms: 20}", P95, False, "pass", "p95 latency 12 ms (95% CI 11–13.5) ≤ 20 ms"),
    ("{max_p95_latency_ms: 10}", P95, False, "fail", "p95 latency 12 ms (95% CI 11–13.5) > 10 ms"),
    ("{max_p95_latency_ms: 12.5}", P95, False, "inconclusive", "may exceed 12.5 ms"),
    ("{max_p95_latency_ms: 13.5}", P95, False, "pass", "≤ 13.5 ms"),  # upper bound exactly at the limit
    ("{max_p95_latency_ms: 20}", {"predict_p95_ms": 4.5}, False, "pass", "p95 latency 4.5 ms ≤ 20 ms"),
    ("{max_latency_ratio: 1.5}", {**P95, **RATIO}, False, "pass", "latency vs production ×1.1 (95% CI ×1.02–1.2)"),
    ("{max_latency_ratio: 1.0}", {**P95, **RATIO}, False, "fail", "> ×1"),
    ("{max_latency_ratio: 1.1}", {**P95, **RATIO}, False, "inconclusive", "may exceed ×1.1"),
    ("{max_latency_ratio: 1.5}", P95, False, "inconclusive", "latency vs production not measured"),
    ("{max_latency_ratio: 1.5}", P95, True, "skipped", "no production model yet"),
    ("{max_size_mb: 50, max_latency_ratio: 1.5}", P95, True, "pass", "size 3.2 MB ≤ 50 MB"),
])
def test_latency_limits(rule: str, facts: dict[str, float], first: bool, verdict: str, fragment: str) -> None:
    c = comparison(metric("accuracy", 0.95, None if first else 0.94, None if first else (0.0, 0.02)),
                   first=first, candidate=_run(**facts))
    result = evaluate_gate(gate(f"{{name: g, model: {rule}}}"), c, None)
    assert result.verdict == verdict and fragment in result.reason, result.reason


def test_an_inconclusive_slice_says_what_would_decide_it_with_its_own_rows() -> None:
    c = comparison(metric("accuracy", 0.95, 0.94, (0.001, 0.02)))  # slices: north 64 rows, south 50 rows
    result = evaluate_gate(gate("{name: g, metric: accuracy, slices: {column: region, max_drop: 0.03}}"), c, None)
    south = next(line for line in result.details if line.startswith("region=south"))
    assert result.verdict == "inconclusive" and "these 50 rows rule out a drop larger than 0.05" in south
