"""The watch summary as the terminal shows it, as a monitoring run's metrics, and as the issue (escaped)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bot.core.judge.drift import measure
from bot.core.judge.watch_gates import evaluate_watch, watch_gates
from bot.core.policy import load_policies
from bot.core.watch_report import render_issue, render_text, run_metrics, summarize
from tests.watch.synthetic import columns, frame, reference_profile


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    return reference_profile()


def test_a_drifted_window_reads_as_needing_attention(profile: dict[str, Any]) -> None:
    report = measure(profile, columns(frame(np.random.default_rng(21), 1000, shifted=3)), rows=1000)
    evaluation = evaluate_watch(watch_gates(load_policies({})), report, None, "roc_auc")
    s = summarize("churn", "production", "4", "abc123", "/data/day.csv", report, None, evaluation, "roc_auc")
    text = render_text(s)
    assert text.splitlines()[0] == "churn@production (v4) on 1000 rows from /data/day.csv: NEEDS ATTENTION"
    assert "  drift: 3 of 30 features (10%)" in text
    assert "    FAIL         no feature drifted (block): drift share 10.0% (3 of 30 features" in text
    assert "    SKIPPED      primary metric holds on labelled windows (block): no labels in this window" in text
    assert run_metrics(s) == {"watch.drift_share": 0.1, "watch.drifted": 3.0, "watch.rows": 1000.0,
                              "watch.healthy": 0.0, "watch.quality_findings": 0.0}


def test_untrusted_names_are_inert_in_the_issue(profile: dict[str, Any]) -> None:
    hostile = {"columns": {"@team <b>x</b> | `y`": profile["columns"]["x00"]}, "rows": profile["rows"]}
    window = {"@team <b>x</b> | `y`": np.random.default_rng(1).normal(size=500) + 1.0}
    report = measure(hostile, window, rows=500)
    evaluation = evaluate_watch(watch_gates(load_policies({})), report, None, "roc_auc")
    body = render_issue(summarize("churn", "production", "1", "r", "src", report, None, evaluation, "roc_auc"))
    assert "<b>" not in body and "@team" not in body and "| `y`" not in body
