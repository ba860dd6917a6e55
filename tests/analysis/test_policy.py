"""Loading policies: the schema, the default policy, and the exact problem sentences."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError
from bot.core.policy import (
    DEFAULT_POLICY_FILE,
    default_policy_text,
    load_policies,
    validate_against,
)

SPEC_EXAMPLE = """
gates:
  - name: roc_auc is not worse than production
    metric: roc_auc
    vs_production: {max_drop: 0.005, confidence: 0.95}
  - name: f1 improves
    metric: f1
    vs_production: {min_gain: 0.01, confidence: 0.9}
  - name: accuracy floor
    metric: accuracy
    min: 0.90
  - name: same evaluation rows
    eval_set: unchanged
  - name: no schema change
    data: {schema: unchanged}
  - name: feature drift
    data: {max_psi: 0.25}
    severity: warn
  - name: per-region accuracy
    metric: accuracy
    slices: {column: region, max_drop: 0.03, min_rows: 30}
  - name: size and latency
    model: {max_size_mb: 50, max_p95_latency_ms: 20}
  - name: reviewed
    review: {min_approvals: 1, exclude_author: true}
  - name: CI is green
    checks: {required: [tests]}
    inconclusive: warn
"""


def problems(text: str, path: str = "policies/x.yaml") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_policies({path: text})
    return [str(p) for p in caught.value.problems]


def test_every_gate_kind_of_the_spec_loads() -> None:
    policy = load_policies({"policies/gates.yaml": SPEC_EXAMPLE})
    assert [g.kind for g in policy.gates] == [
        "vs_production", "vs_production", "threshold", "eval_set", "data", "data", "slices", "model",
        "review", "checks"]
    assert policy.confidence_levels() == [0.9, 0.95]
    assert policy.gates[5].severity == "warn" and policy.gates[9].inconclusive == "warn"
    relative = [True, True, False, True, True, True, True, False, False, False]
    assert [g.relative for g in policy.gates] == relative
    assert not policy.is_default


def test_default_policy_is_used_when_the_repo_has_none() -> None:
    policy = load_policies({})
    assert policy.is_default and policy.files == (DEFAULT_POLICY_FILE,)
    first = policy.gates[0]
    assert first.metric == "primary" and first.vs_production is not None
    assert first.vs_production.max_drop == 0.01 and first.vs_production.confidence == 0.95
    assert {g.kind for g in policy.gates} == {"vs_production", "eval_set", "data"}
    drift = next(g for g in policy.gates if g.data and g.data.max_psi)
    assert drift.severity == "warn"
    assert "gates:" in default_policy_text()


def test_files_are_concatenated_in_sorted_path_order() -> None:
    a = "gates:\n  - {name: a, eval_set: unchanged}\n"
    b = "gates:\n  - {name: b, metric: f1, min: 0.5}\n"
    policy = load_policies({"policies/b.yaml": b, "policies/a.yaml": a, "policies/empty.yaml": ""})
    assert [g.name for g in policy.gates] == ["a", "b"]
    assert policy.files == ("policies/a.yaml", "policies/b.yaml", "policies/empty.yaml")


@pytest.mark.parametrize(("text", "expected"), [
    ("gates:\n  - name: a\n    metric: roc_auc\n    vs_production: {max_drop: lots}\n",
     "policies/x.yaml: gates[0].vs_production.max_drop: expected a number, got 'lots'"),
    ("gates:\n  - name: a\n    metric: roc_auc\n    vs_production: {max_dorp: 0.1}\n",
     "policies/x.yaml: gates[0].vs_production.max_dorp: unknown key 'max_dorp' (did you mean 'max_drop'?); "
     "allowed keys: max_drop, min_gain, confidence"),
    ("gates:\n  - name: a\n    metric: rocauc\n    min: 0.5\n",
     "policies/x.yaml: gates[0].metric: unknown metric 'rocauc' (did you mean 'roc_auc'?); known: "
     "accuracy, balanced_accuracy, precision, recall, f1, roc_auc, log_loss, brier, rmse, mae, r2, mape, "
     "model_size_mb, predict_p95_ms, train_seconds, primary"),
    ("gates:\n  - name: a\n    eval_set: unchanged\n    data: {schema: unchanged}\n",
     "policies/x.yaml: gates[0]: a gate needs exactly one kind (min/max, vs_production, slices, eval_set, "
     "data, model, max_negative_flip_rate, review, checks, watch, vs_reference); found eval_set, data"),
    ("gates:\n  - name: a\n", "policies/x.yaml: gates[0]: a gate needs exactly one kind (min/max, "
     "vs_production, slices, eval_set, data, model, max_negative_flip_rate, review, checks, watch, "
     "vs_reference); found none"),
    ("gates:\n  - name: a\n    min: 0.5\n", "policies/x.yaml: gates[0]: a min/max gate needs `metric:`"),
    ("gates:\n  - name: a\n    metric: f1\n    eval_set: unchanged\n",
     "policies/x.yaml: gates[0]: `metric:` does not apply to eval_set gates; remove it"),
    ("gates:\n  - name: a\n    metric: f1\n    vs_production: {max_drop: 0.1, min_gain: 0.1}\n",
     "policies/x.yaml: gates[0].vs_production: give exactly one of max_drop (not worse) "
     "or min_gain (better by)"),
    ("gates:\n  - name: a\n    metric: f1\n    vs_production: {max_drop: 0.1, confidence: 1.5}\n",
     "policies/x.yaml: gates[0].vs_production.confidence: input should be less than 1, got 1.5"),
    ("gates:\n  - name: a\n    review: {min_approvals: two}\n",
     "policies/x.yaml: gates[0].review.min_approvals: expected a whole number, got 'two'"),
    ("gates:\n  - name: a\n    eval_set: unchanged\n    severity: blocker\n",
     "policies/x.yaml: gates[0].severity: expected 'block' or 'warn', got 'blocker'"),
    ("gates:\n  - name: a\n    eval_set: changed\n",
     "policies/x.yaml: gates[0].eval_set: expected 'unchanged', got 'changed'"),
    ("gates:\n  - name: a\n    checks: {required: tests}\n",
     "policies/x.yaml: gates[0].checks.required: expected a list, got 'tests'"),
    ("gates:\n  - name: a\n    data: {}\n",
     "policies/x.yaml: gates[0].data: give exactly one of schema: unchanged or max_psi: <number>"),
    ("gates:\n  - name: a\n    model: {}\n",
     "policies/x.yaml: gates[0].model: give at least one of max_size_mb, max_p95_latency_ms, max_latency_ratio"),
    ("gates:\n  - nam: a\n    eval_set: unchanged\n", "policies/x.yaml: gates[0].name: is required"),
    ("gate:\n  - name: a\n", "policies/x.yaml: gate: unknown key 'gate' (did you mean 'gates'?); "
     "allowed keys: gates"),
    ("gates: 3\n", "policies/x.yaml: gates: expected a list, got 3"),
    ("- a\n- b\n", "policies/x.yaml: expected a mapping with a `gates:` list at the top"),
    ("gates: [\n", "policies/x.yaml: is not valid YAML at line 2: expected the node content, but found "
     "'<stream end>'"),
    ("gates:\n  - {name: a, metric: f1, min: 0.9, max: 0.5}\n",
     "policies/x.yaml: gates[0]: min (0.9) is above max (0.5)"),
])
def test_problems_read_file_key_problem(text: str, expected: str) -> None:
    assert expected in problems(text)


def test_every_problem_of_every_file_is_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        load_policies({"policies/a.yaml": "gates:\n  - {name: x, eval_set: maybe}\n  - {name: y}\n",
                       "policies/b.yaml": "gates: [\n"})
    files = [p.file for p in caught.value.problems]
    assert files == ["policies/a.yaml", "policies/a.yaml", "policies/b.yaml"]
    assert caught.value.hint and "mlbot check" in caught.value.hint


def test_gate_names_are_unique_across_files() -> None:
    with pytest.raises(ConfigError) as caught:
        load_policies({"policies/a.yaml": "gates:\n  - {name: x, eval_set: unchanged}\n",
                       "policies/b.yaml": "gates:\n  - {name: y, eval_set: unchanged}\n"
                                          "  - {name: x, eval_set: unchanged}\n"})
    assert [str(p) for p in caught.value.problems] == [
        "policies/b.yaml: gates[1].name: 'x' is already the name of policies/a.yaml: gates[0]; "
        "gate names must be unique"]


def test_validate_against_the_project_metrics_and_slices() -> None:
    policy = load_policies({"policies/gates.yaml": SPEC_EXAMPLE})
    found = [str(p) for p in validate_against(policy, ["roc_auc", "accuracy"], [])]
    assert found == [
        "policies/gates.yaml: gates[1].metric: 'f1' is not among the metrics in mlbot.yaml "
        "(roc_auc, accuracy); add it there or fix the name",
        "policies/gates.yaml: gates[6].slices.column: 'region' is not among data.slices in mlbot.yaml "
        "(none); add it there",
    ]
    assert validate_against(policy, ["roc_auc", "f1", "accuracy"], ["region"]) == []
    assert validate_against(load_policies({}), ["rmse"], []) == []  # `primary` always resolves
