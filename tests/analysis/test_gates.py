"""Every gate kind and verdict, table-driven over hand-built comparisons."""

from __future__ import annotations

import pytest

from bot.core.judge.compare import RunView
from bot.core.judge.datadiff import ColumnDiff, DataDiff
from bot.core.judge.gates import GateContext, decide, evaluate, evaluate_gate
from bot.core.policy import load_policies

from .builders import CANDIDATE, comparison, metric


def gate(text: str):
    return load_policies({"policies/t.yaml": f"gates:\n  - {text}\n"}).gates[0]


@pytest.mark.parametrize(("ci", "higher", "margin", "expected"), [
    # non-inferiority, higher is better, max_drop 0.01: pass when lo > -0.01, fail when hi < -0.01
    ((-0.005, 0.02), True, {"max_drop": 0.01}, "pass"),
    ((-0.03, -0.02), True, {"max_drop": 0.01}, "fail"),
    ((-0.02, 0.01), True, {"max_drop": 0.01}, "inconclusive"),
    # lower is better: a drop is an increase
    ((-0.02, 0.005), False, {"max_drop": 0.01}, "pass"),
    ((0.02, 0.03), False, {"max_drop": 0.01}, "fail"),
    ((-0.01, 0.02), False, {"max_drop": 0.01}, "inconclusive"),
    # superiority, min_gain 0.01: pass when lo >= 0.01, fail when hi < 0.01
    ((0.01, 0.03), True, {"min_gain": 0.01}, "pass"),
    ((-0.01, 0.005), True, {"min_gain": 0.01}, "fail"),
    ((0.0, 0.02), True, {"min_gain": 0.01}, "inconclusive"),
    ((-0.03, -0.012), False, {"min_gain": 0.01}, "pass"),
    ((-0.005, 0.01), False, {"min_gain": 0.01}, "fail"),
])
def test_decide_on_the_interval(ci, higher, margin, expected) -> None:
    assert decide(ci, higher, **margin) == expected


DRIFTED = DataDiff(columns=(ColumnDiff("x", "float64", "float64", 0.0, 0.0, 0.4),
                            ColumnDiff("z", "float64", "float64", 0.0, 0.0, 0.1)))
SCHEMA = DataDiff(added_columns=("new",), dtype_changes=(("y", "int64", "float64"),))
CTX = GateContext(approvals=["alice", "bob"], author="alice",
                  check_conclusions={"tests": "success", "lint": "failure", "slow": None})

CASES = [
    # (gate yaml, comparison overrides, context, verdict, observed, threshold, reason fragment)
    ("{name: g, metric: roc_auc, vs_production: {max_drop: 0.005}}", {}, None,
     "pass", 0.003, -0.005, "not worse than production by more than 0.005"),
    ("{name: g, metric: roc_auc, vs_production: {max_drop: 0.0005}}", {}, None,
     "inconclusive", 0.003, -0.0005, "may be worse"),
    ("{name: g, metric: log_loss, vs_production: {max_drop: 0.01}}", {}, None,
     "fail", 0.05, 0.01, "worse than production by more than 0.01 (lower is better)"),
    ("{name: g, metric: primary, vs_production: {min_gain: 0.001}}", {}, None,
     "inconclusive", 0.003, 0.001, "not clearly better"),
    ("{name: g, metric: roc_auc, vs_production: {max_drop: 0.01, confidence: 0.8}}", {}, None,
     "pass", 0.003, -0.01, "80% CI"),  # other levels from the standard error
    ("{name: g, metric: roc_auc, vs_production: {max_drop: 0.01}}",
     {"metrics": (metric("roc_auc", 0.99, 0.98, None),)}, None, "inconclusive", None, None, "no paired interval"),
    ("{name: g, metric: recall, vs_production: {max_drop: 0.01}}", {}, None,
     "inconclusive", None, None, "recall was not compared"),
    ("{name: g, metric: accuracy, min: 0.9}", {}, None, "pass", 0.95, 0.9, "accuracy 0.95 is ≥ 0.9"),
    ("{name: g, metric: accuracy, min: 0.96}", {}, None, "fail", 0.95, 0.96, "below the floor 0.96"),
    ("{name: g, metric: log_loss, max: 0.1}", {}, None, "fail", 0.3, 0.1, "above the ceiling 0.1"),
    ("{name: g, metric: model_size_mb, max: 10}", {}, None, "pass", 3.2, 10.0, "≤ 10"),
    ("{name: g, metric: train_seconds, max: 10}", {}, None, "inconclusive", None, 10.0, "was not measured"),
    ("{name: g, metric: accuracy, slices: {column: region, max_drop: 0.03, min_rows: 10}}", {}, None,
     "inconclusive", -0.01, -0.03, "1 pass, 0 fail, 1 inconclusive, 0 skipped"),
    ("{name: g, metric: accuracy, slices: {column: region, max_drop: 0.1, min_rows: 10}}", {}, None,
     "pass", -0.01, -0.1, "2 pass"),
    ("{name: g, metric: accuracy, slices: {column: region, max_drop: 0.1, min_rows: 60}}", {}, None,
     "pass", 0.01, -0.1, "1 pass, 0 fail, 0 inconclusive, 1 skipped"),
    ("{name: g, metric: accuracy, slices: {column: region, max_drop: 0.1, min_rows: 100}}", {}, None,
     "skipped", None, -0.1, "every slice of region has fewer than 100 rows"),
    ("{name: g, metric: accuracy, slices: {column: city, max_drop: 0.1}}", {}, None,
     "inconclusive", None, None, "no slices of 'city'"),
    ("{name: g, eval_set: unchanged}", {}, None, "pass", "same", "unchanged", "same eval rows"),
    ("{name: g, eval_set: unchanged}", {"eval_set_same": False}, None, "fail", "changed", "unchanged",
     "eval rows differ"),
    ("{name: g, eval_set: unchanged}", {"eval_set_same": None}, None, "inconclusive", None, "unchanged",
     "missing"),
    ("{name: g, data: {schema: unchanged}}", {}, None, "pass", "unchanged", "unchanged", "same columns"),
    ("{name: g, data: {schema: unchanged}}", {"data": SCHEMA}, None, "fail", "2 changes", "unchanged",
     "schema changed: added new; y: int64 → float64"),
    ("{name: g, data: {schema: unchanged}}", {"data": None}, None,
     "inconclusive", None, None, "no data profile"),
    ("{name: g, data: {max_psi: 0.25}}", {}, None, "pass", 0.031, 0.25, "highest PSI 0.031 (mean radius)"),
    ("{name: g, data: {max_psi: 0.25}}", {"data": DRIFTED}, None, "fail", 0.4, 0.25, "worst x at 0.4"),
    ("{name: g, model: {max_size_mb: 50, max_p95_latency_ms: 20}}", {}, None,
     "pass", "3.2 MB, 4.5 ms", "≤ 50 MB, ≤ 20 ms", "size 3.2 MB ≤ 50 MB; p95 latency 4.5 ms ≤ 20 ms"),
    ("{name: g, model: {max_size_mb: 1}}", {}, None, "fail", "3.2 MB", "≤ 1 MB", "size 3.2 MB > 1 MB"),
    ("{name: g, model: {max_size_mb: 50}}", {"candidate": RunView("c")}, None,
     "inconclusive", "size unknown", "≤ 50 MB", "size not measured"),
    ("{name: g, review: {min_approvals: 1}}", {}, CTX, "pass", 1, 1, "1 approval(s) (bob)"),
    ("{name: g, review: {min_approvals: 2}}", {}, CTX, "fail", 1, 2, "author's own excluded"),
    ("{name: g, review: {min_approvals: 2, exclude_author: false}}", {}, CTX, "pass", 2, 2, "(alice, bob)"),
    ("{name: g, review: {min_approvals: 1}}", {}, None, "skipped", None, None, "no pull-request facts"),
    ("{name: g, checks: {required: [tests]}}", {}, CTX, "pass", "all green", "tests", "succeeded"),
    ("{name: g, checks: {required: [tests, lint]}}", {}, CTX, "fail", "lint: failure", "tests, lint",
     "not green: lint: failure"),
    ("{name: g, checks: {required: [tests, slow, e2e]}}", {}, CTX, "inconclusive", "2 pending",
     "tests, slow, e2e", "slow, e2e"),
    ("{name: g, checks: {required: [tests]}}", {}, None, "skipped", None, None, "no pull-request facts"),
]


@pytest.mark.parametrize(
    ("text", "overrides", "context", "verdict", "observed", "threshold", "reason"), CASES)
def test_gate_verdicts(text, overrides, context, verdict, observed, threshold, reason) -> None:
    base = comparison(metric("roc_auc", 0.994, 0.991, (-0.001, 0.007)),
                      metric("accuracy", 0.95, 0.94, (0.001, 0.02)),
                      metric("log_loss", 0.3, 0.25, (0.02, 0.08), higher=False), **overrides)
    result = evaluate_gate(gate(text), base, context)
    assert result.verdict == verdict, result.reason
    assert reason in result.reason
    assert result.observed == (pytest.approx(observed) if isinstance(observed, float) else observed)
    assert result.threshold == (pytest.approx(threshold) if isinstance(threshold, float) else threshold)


@pytest.mark.parametrize("text", [
    "{name: g, metric: roc_auc, vs_production: {max_drop: 0.01}}",
    "{name: g, metric: accuracy, slices: {column: region, max_drop: 0.03}}",
    "{name: g, eval_set: unchanged}",
    "{name: g, data: {schema: unchanged}}",
    "{name: g, data: {max_psi: 0.2}}",
])
def test_relative_gates_skip_before_the_first_promotion(text) -> None:
    first = comparison(metric("roc_auc", 0.99, None, None), first=True)
    result = evaluate_gate(gate(text), first, None)
    assert (result.verdict, result.reason) == ("skipped", "no production model yet (first promotion)")


def test_absolute_gates_still_apply_at_the_first_promotion() -> None:
    first = comparison(metric("accuracy", 0.85, None, None), first=True)
    result = evaluate_gate(gate("{name: g, metric: accuracy, min: 0.9}"), first, None)
    assert result.verdict == "fail"


def test_promotable_iff_no_blocking_gate_fails_or_is_inconclusive() -> None:
    text = """gates:
  - {name: floor, metric: accuracy, min: 0.99, severity: warn}
  - {name: better, metric: roc_auc, vs_production: {min_gain: 0.002}, inconclusive: warn}
  - {name: same rows, eval_set: unchanged}
"""
    policy = load_policies({"policies/g.yaml": text})
    c = comparison(metric("accuracy", 0.95, 0.94, (0.0, 0.02)),
                   metric("roc_auc", 0.994, 0.991, (0.001, 0.007)))
    ev = evaluate(policy, c)
    assert [r.verdict for r in ev.results] == ["fail", "inconclusive", "pass"]
    assert ev.promotable and ev.blocking == []
    blocked = evaluate(policy, comparison(*c.metrics, eval_set_same=False))
    assert not blocked.promotable and [r.name for r in blocked.blocking] == ["same rows"]
    assert blocked.count("pass") == 0 and blocked.count("fail") == 2


def test_waivers_turn_failures_into_waived_with_the_reason() -> None:
    policy = load_policies({"policies/g.yaml": "gates:\n  - {name: same rows, eval_set: unchanged}\n"
                                               "  - {name: floor, metric: accuracy, min: 0.5}\n"})
    c = comparison(metric("accuracy", 0.95, 0.94, (0.0, 0.02)), eval_set_same=False)
    ev = evaluate(policy, c, waivers={"same rows": "eval set was fixed on purpose (@carol)"})
    assert [r.verdict for r in ev.results] == ["waived", "pass"]
    assert ev.results[0].reason.startswith("waived: eval set was fixed on purpose (@carol) (was fail: ")
    assert ev.promotable
    forced = evaluate(policy, c, waivers={"*": "forced by /promote --force"})
    assert [r.verdict for r in forced.results] == ["waived", "pass"]  # passing gates stay pass


def test_default_policy_resolves_primary_to_the_first_metric() -> None:
    c = comparison(metric("rmse", 1.1, 1.0, (0.05, 0.15), higher=False),
                   metric("r2", 0.8, 0.82, (-0.03, 0.0)))
    result = evaluate(load_policies({}), c).results[0]
    assert result.metric == "rmse" and result.verdict == "fail"
    assert result.threshold == 0.01 and "lower is better" in result.reason
    assert CANDIDATE.pr == 7
