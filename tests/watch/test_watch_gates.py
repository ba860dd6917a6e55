"""Watch gates in the policy language, judged on windows: verdicts, severity and reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bot.core.errors import ConfigError
from bot.core.judge.drift import measure
from bot.core.judge.metrics import Prediction
from bot.core.judge.watch_gates import evaluate_watch, metric_shift, watch_gates
from bot.core.policy import load_policies
from tests.watch.synthetic import columns, frame, reference_profile


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    return reference_profile()


def gates(text: str) -> Any:
    return watch_gates(load_policies({"policies/watch.yaml": text}))


def scored(rng: np.random.Generator, rows: int, noise: float) -> tuple[Any, Prediction]:
    """Labels and a model's probabilities; more `noise` is a worse model."""
    signal = rng.normal(size=rows)
    y = (signal + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    p1 = 1 / (1 + np.exp(-(signal + rng.normal(scale=noise, size=rows)) * 2))
    proba = np.column_stack([1 - p1, p1])
    return y, Prediction(proba.argmax(axis=1).astype(np.int64), proba, [0, 1])


def test_watch_gates_are_not_pull_request_gates() -> None:
    policy = load_policies({"p.yaml": "gates:\n  - {name: drift, watch: {max_drift_share: 0.3}}\n"
                                      "  - {name: auc, metric: roc_auc, min: 0.5}\n"})
    assert [g.name for g in policy.gates] == ["auc"] and [g.name for g in policy.watch_gates] == ["drift"]


def test_a_policy_without_watch_gates_gets_the_default_ones() -> None:
    names = [g.name for g in gates("gates:\n  - {name: auc, metric: roc_auc, min: 0.5}\n")]
    assert names == ["no feature drifted", "same columns as in training",
                     "primary metric holds on labelled windows", "predictions are stable"]


@pytest.mark.parametrize(("text", "message"), [
    ("gates: [{name: a, watch: {}}]", "gates[0].watch: give at least one of max_drift_share"),
    ("gates: [{name: a, watch: {max_drift: 1}}]", "did you mean 'max_drift_share'?"),
    ("gates: [{name: a, vs_reference: {max_drop: 0.1}}]", "a vs_reference gate needs `metric:`"),
    ("gates: [{name: a, watch: {max_drift_share: 2}}]", "gates[0].watch.max_drift_share"),
])
def test_watch_gate_problems(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_policies({"policies/watch.yaml": text})


@pytest.mark.parametrize(("rule", "shifted", "verdict", "in_reason"), [
    ("{max_drift_share: 0.3}", 0, "pass", "drift share 0.0% is within 30.0%"),
    ("{max_drift_share: 0.3}", 3, "pass", "3 of 30 features: x00, x01, x02"),
    ("{max_drift_share: 0.05}", 3, "fail", "drift share 10.0% (3 of 30 features"),
    ("{max_psi: 0.25}", 0, "pass", "highest PSI"),
    ("{max_psi: 0.1}", 3, "fail", "is above 0.1"),
    ("{schema: unchanged}", 3, "pass", "same feature columns"),
    ("{max_out_of_range: 0.05}", 0, "pass", "share outside the training range"),
])
def test_drift_limits(profile: dict[str, Any], rule: str, shifted: int, verdict: str, in_reason: str) -> None:
    report = measure(profile, columns(frame(np.random.default_rng(11), 1000, shifted=shifted)), rows=1000)
    [result] = evaluate_watch(gates(f"gates: [{{name: g, watch: {rule}}}]"), report, None, "roc_auc").results
    assert result.verdict == verdict and in_reason in result.reason


def test_drifted_features_are_listed_in_the_details(profile: dict[str, Any]) -> None:
    report = measure(profile, columns(frame(np.random.default_rng(12), 1000, shifted=3)), rows=1000)
    [result] = evaluate_watch(gates("gates: [{name: g, watch: {max_drift_share: 0}}]"), report, None, "x").results
    assert result.blocking and len(result.details) == 3 and result.details[0].startswith("x0")


def test_a_warn_gate_never_blocks(profile: dict[str, Any]) -> None:
    report = measure(profile, columns(frame(np.random.default_rng(13), 1000, shifted=3)), rows=1000)
    text = "gates: [{name: g, watch: {max_drift_share: 0}, severity: warn}]"
    [result] = evaluate_watch(gates(text), report, None, "roc_auc").results
    assert result.verdict == "fail" and not result.blocking


@pytest.mark.parametrize(("noise", "verdict"), [(0.0, "pass"), (2.0, "fail")])
def test_vs_reference_judges_the_metric_with_its_interval(noise: float, verdict: str) -> None:
    rng = np.random.default_rng(4)
    reference, window = scored(rng, 2000, 0.0), scored(rng, 2000, noise)
    shift = metric_shift("roc_auc", window, reference, (0.95,))
    assert shift is not None
    report = measure({"columns": {}}, {}, rows=2000)
    text = "gates: [{name: auc, metric: primary, vs_reference: {max_drop: 0.02, confidence: 0.95}}]"
    [result] = evaluate_watch(gates(text), report, {"roc_auc": shift}, "roc_auc").results
    assert result.verdict == verdict
    assert "95% CI" in result.reason and "at promotion" in result.reason


def test_vs_reference_is_skipped_without_labels() -> None:
    text = "gates: [{name: auc, metric: roc_auc, vs_reference: {max_drop: 0.02}}]"
    [result] = evaluate_watch(gates(text), measure({"columns": {}}, {}, rows=1), None, "roc_auc").results
    assert (result.verdict, result.reason) == ("skipped", "no labels in this window")


def test_a_small_labelled_window_is_inconclusive_not_failed() -> None:
    rng = np.random.default_rng(5)
    reference, window = scored(rng, 2000, 0.0), scored(rng, 60, 0.3)
    shift = metric_shift("roc_auc", window, reference)
    assert shift is not None
    text = "gates: [{name: auc, metric: roc_auc, vs_reference: {max_drop: 0.02}}]"
    [result] = evaluate_watch(gates(text), measure({"columns": {}}, {}, rows=60), {"roc_auc": shift},
                              "roc_auc").results
    assert result.verdict == "inconclusive"
