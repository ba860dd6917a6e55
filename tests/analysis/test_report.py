"""Rendering: golden comments, escaping of untrusted strings, size limits, the JSON contract."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from bot.core.judge.compare import ParamsDiff, RunView, SliceComparison
from bot.core.judge.datadiff import ColumnDiff, DataDiff
from bot.core.judge.gates import GateContext, evaluate
from bot.core.policy import load_policies
from bot.core.report import (
    COMMENT_LIMIT,
    ReportView,
    escape_md,
    marker,
    render_json,
    render_markdown,
    render_text,
)

from .builders import CANDIDATE, comparison, metric

GOLDEN = Path(__file__).parent / "golden"
# Regenerate after an intended change: MLBOT_UPDATE_GOLDEN=1 pytest tests/analysis, then review the diff.
UPDATE = os.environ.get("MLBOT_UPDATE_GOLDEN") == "1"
POLICY = load_policies({"policies/gates.yaml": """gates:
  - name: roc_auc is not worse than production
    metric: roc_auc
    vs_production: {max_drop: 0.005}
  - name: accuracy floor
    metric: accuracy
    min: 0.9
  - name: same evaluation rows
    eval_set: unchanged
  - name: feature drift
    data: {max_psi: 0.25}
    severity: warn
  - name: per-region accuracy
    metric: accuracy
    slices: {column: region, max_drop: 0.06, min_rows: 30}
  - name: reviewed
    review: {min_approvals: 1}
"""})
CONTEXT = GateContext(approvals=["bob"], author="alice")


def _view(kind: str) -> ReportView:
    roc = {"pass": (0.994, 0.991, (-0.001, 0.007)), "fail": (0.97, 0.991, (-0.03, -0.012)),
           "inconclusive": (0.99, 0.991, (-0.009, 0.006)), "first": (0.99, None, None)}[kind]
    accuracy = metric("accuracy", 0.95 if kind != "fail" else 0.88, None if kind == "first" else 0.94,
                      None if kind == "first" else (-0.08, -0.04) if kind == "fail" else (0.001, 0.02))
    c = comparison(metric("roc_auc", *roc), accuracy, first=kind == "first")
    return ReportView(c, evaluate(POLICY, c, CONTEXT), mlflow_url="http://mlflow.example:5000",
                      branch="feature/deeper-trees")


@pytest.mark.parametrize("kind", ["pass", "fail", "inconclusive", "first"])
def test_golden_comments(kind: str) -> None:
    text = render_markdown(_view(kind))
    path = GOLDEN / f"{kind}.md"
    if UPDATE or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        if not UPDATE:
            pytest.fail(f"wrote missing golden file {path}; review it and run again")
    assert text == path.read_text()


@pytest.mark.parametrize(("kind", "headline"), [
    ("pass", "## ✅ mlbot · breast-cancer · promotable"),
    ("fail", "## ❌ mlbot · breast-cancer · blocked"),
    ("inconclusive", "## ❌ mlbot · breast-cancer · blocked"),
    ("first", "## 🆕 mlbot · breast-cancer · first promotion"),
])
def test_marker_first_and_headline(kind: str, headline: str) -> None:
    lines = render_markdown(_view(kind)).splitlines()
    assert lines[0] == "<!-- mlbot:report model=breast-cancer -->" == marker("breast-cancer")
    assert lines[1] == headline
    text = "\n".join(lines)
    assert "xychart-beta" in text and "/rollback" in text and "/help" in text
    assert "http://mlflow.example:5000/#/experiments/1/runs/c0ffee0000000000000000000000000a" in text


def test_a_good_model_without_its_review_waits_instead_of_being_blocked() -> None:
    good = _view("pass")
    unreviewed = ReportView(good.comparison, evaluate(POLICY, good.comparison, GateContext(author="alice")))
    text = render_markdown(unreviewed)
    assert text.splitlines()[1] == "## ⏳ mlbot · breast-cancer · waiting"
    assert "still waiting for: reviewed (fail)" in text
    failing = _view("fail")
    also_unreviewed = ReportView(failing.comparison, evaluate(POLICY, failing.comparison, GateContext(author="a")))
    assert render_markdown(also_unreviewed).splitlines()[1] == "## ❌ mlbot · breast-cancer · blocked"


def test_without_an_mlflow_url_the_run_ids_are_shown() -> None:
    view = _view("pass")
    text = render_markdown(ReportView(view.comparison, view.evaluation))
    assert "run c0ffee0000000000000000000000000a" in text and "](http" not in text


def test_policy_edits_in_the_pr_are_called_out() -> None:
    view = _view("pass")
    edited = ReportView(view.comparison, view.evaluation, edited_policies=["policies/gates.yaml"])
    text = render_markdown(edited)
    assert ("This PR edits policies/gates.yaml; they apply after merge — this report used the base branch's "
            "policies.") in text
    other = ReportView(view.comparison, view.evaluation, edited_policies=["policies/a|b.yaml"],
                       policy_source="main (abc1234)")
    assert ("This PR edits policies/a&#124;b.yaml; they apply after merge — this report used the policies of "
            "main (abc1234).") in render_markdown(other)


HOSTILE = "<script>alert(1)</script> `rm -rf` a|b @octocat"


def test_untrusted_strings_are_escaped_everywhere() -> None:
    c = comparison(metric("accuracy", 0.95, 0.94, (0.0, 0.02)),
                   params=ParamsDiff(changed={"lr|`x`": ("1", HOSTILE)}, added={"/promote": "#1 @org/team"}),
                   slices=(SliceComparison("region", "@here|<b>", 40,
                                           (metric("accuracy", 0.9, 0.9, (0, 0)),)),))
    view = ReportView(c, evaluate(POLICY, c, CONTEXT), branch=f"/promote --force {HOSTILE}", title=HOSTILE)
    text = render_markdown(view)
    assert "(“&lt;script&gt;alert(1)&lt;/script&gt; &#96;rm -rf&#96; a&#124;b @\u200doctocat”)" in text
    assert "<script>" not in text and "<b>" not in text and "&lt;script&gt;" in text
    assert "`rm" not in text and "&#96;rm -rf&#96;" in text
    assert not re.search(r"@(?!\u200d)\w", text)  # every @mention carries a zero-width joiner
    assert not any(line.lstrip().startswith(("/promote", "#1")) for line in text.splitlines())
    param_row = next(line for line in text.splitlines() if line.startswith("| lr"))
    assert param_row.count("|") == 4  # three cells: the value's pipes cannot add columns
    assert escape_md("/retrain\n# title") == "&#47;retrain &#35; title"
    assert escape_md("a\\|b") == "a&#92;&#124;b"
    plain = render_text(view)
    assert HOSTILE.replace("\n", " ") in plain and "\x1b" not in render_text(
        ReportView(c, view.evaluation, branch="evil\x1b[2Jbranch"))


def test_a_5000_feature_report_stays_under_the_comment_limit() -> None:
    columns = tuple(ColumnDiff(f"feature_{i:04d}", "float64", "float64", 0.0, 0.01, 1.0 / (i + 1))
                    for i in range(5000))
    params = ParamsDiff(changed={f"param_{i}": ("a" * 30, "b" * 30) for i in range(5000)})
    slice_metrics = (metric("accuracy", 0.9, 0.91, (-0.03, 0.01)),)
    slices = tuple(SliceComparison("city", f"city-{i}", 100, slice_metrics) for i in range(3000))
    c = comparison(metric("accuracy", 0.95, 0.94, (0.0, 0.02)), data=DataDiff(columns=columns),
                   params=params, slices=slices)
    text = render_markdown(ReportView(c, evaluate(POLICY, c, CONTEXT)))
    assert len(text) < COMMENT_LIMIT
    assert "feature_0000" in text and "more features, see MLflow" in text
    assert "more, see MLflow" in text and "more slices, see MLflow" in text
    assert text.count("<details>") == text.count("</details>")


def test_the_hard_guard_cuts_whatever_still_does_not_fit() -> None:
    names = "\n".join(f"  - {{name: gate {i} {'x' * 200}, eval_set: unchanged}}" for i in range(400))
    policy = load_policies({"policies/many.yaml": f"gates:\n{names}\n"})
    c = comparison(metric("accuracy", 0.95, 0.94, (0.0, 0.02)))
    text = render_markdown(ReportView(c, evaluate(policy, c)))
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith(marker("breast-cancer"))
    assert text.rstrip().endswith("the full comparison is in MLflow.")


def test_json_matches_the_spec_shape() -> None:
    out = render_json(_view("pass"))
    json.dumps(out)  # serialisable as is
    assert list(out) == ["model", "candidate", "production", "metrics", "gates", "promotable", "negative_flips"]
    assert out["candidate"] == {"run_id": CANDIDATE.run_id, "sha": "1234567890abcdef", "pr": 7}
    assert out["production"] == {"version": "3", "run_id": "deadbeef00000000000000000000000b"}
    roc = out["metrics"][0]
    assert list(roc) == ["name", "higher_is_better", "production", "candidate", "delta", "ci", "method"]
    assert roc["ci"] == [-0.001, 0.007] and roc["delta"] == pytest.approx(0.003) and roc["method"] == "DeLong"
    assert out["negative_flips"] == {"count": 3, "rows": 114, "rate": 3 / 114, "positive": 5,
                                     "examples": ["17", "42", "88"]}
    gate = out["gates"][0]
    assert list(gate) == ["name", "verdict", "severity", "observed", "threshold", "reason"]
    assert (gate["verdict"], gate["threshold"]) == ("pass", -0.005)
    assert out["promotable"] is True


def test_json_before_the_first_promotion() -> None:
    out = render_json(_view("first"))
    assert out["production"] is None and out["promotable"] is True and out["negative_flips"] is None
    assert all(m["production"] is None and m["delta"] is None and m["ci"] is None for m in out["metrics"])
    assert {g["verdict"] for g in out["gates"]} == {"pass", "skipped"}


def test_text_report_lists_metrics_and_gates() -> None:
    text = render_text(_view("fail"))
    assert text.startswith("mlbot report: breast-cancer — BLOCKED")
    assert "[fail        ] roc_auc is not worse than production" in text
    assert re.search(r"roc_auc ↑\s+0\.9910\s+0\.9700\s+-0\.0210", text)
    unknown = RunView("x")
    assert render_json(ReportView(comparison(first=True, candidate=unknown), evaluate(POLICY, comparison(
        first=True, candidate=unknown))))["candidate"] == {"run_id": "x", "sha": None, "pr": None}


def test_the_report_names_the_method_of_each_interval() -> None:
    text = render_markdown(_view("pass"))
    assert "paired intervals: roc_auc by DeLong; accuracy by multinomial bootstrap; bootstrap: 2000 resamples" in text
    assert "paired intervals: roc_auc by DeLong" in render_text(_view("pass"))
