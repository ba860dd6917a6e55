"""The base branch decides: a PR's own policy edits do not judge it, and a broken PR says why it broke."""

from __future__ import annotations

import yaml

from tests.conftest import EXAMPLES
from tests.flows.conftest import BASELINE, MAINTAINER, REPO, REVIEWER, WORSE, Flow, with_params

LOOSE = yaml.safe_dump({"gates": [{"name": "anything goes", "metric": "accuracy", "min": 0.0}]})


def test_policy_edits_apply_after_merge_and_training_failures_are_reported(flow: Flow) -> None:
    loose, loose_sha = flow.open_pull("loosen-gates", WORSE, extra={"policies/gates.yaml": LOOSE})
    broken_config = yaml.safe_load(with_params((EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text(), BASELINE))
    broken_config["data"]["target"] = "diagnosis"
    broken_sha = flow.github.push_commit(REPO, "rename-target", {"mlbot.yaml": yaml.safe_dump(broken_config)},
                                         "Rename the target", author="alice")
    broken = flow.github.open_pull(REPO, "rename-target", "main", "Rename the target", "alice")
    flow.settle()

    # judged by main's gates, not by the loosened copy in the PR
    assert flow.check(loose_sha, "mlbot/train") == ("completed", "success")
    assert flow.check(loose_sha, "mlbot/gates") == ("completed", "failure")
    [report] = flow.reports(loose)
    assert "This PR edits policies/gates.yaml; they apply after merge" in report
    assert "the policies of main" in report
    assert "roc_auc is not worse than production" in report and "anything goes" not in report

    flow.github.review(REPO, loose, REVIEWER, "APPROVED")
    flow.github.merge(REPO, loose, by=MAINTAINER)
    flow.settle()
    assert flow.production() == "1"
    [refusal] = [c for c in flow.bot_comments(loose) if c.startswith("I did not promote")]
    assert "roc_auc is not worse than production: fail" in refusal
    assert flow.github.deployments(REPO) == []

    # a training that fails shows the log tail in the report comment and fails mlbot/train
    assert flow.check(broken_sha, "mlbot/train") == ("completed", "failure")
    assert flow.check(broken_sha, "mlbot/gates") == ("completed", "neutral")
    [failure] = flow.reports(broken)
    assert f"training failed for `{broken_sha[:7]}`" in failure
    assert "last lines of the training log" in failure and "diagnosis" in failure
    assert "push again, or comment `/retrain`" in failure
    check = max((r for r in flow.github.check_runs(REPO, broken_sha) if r.name == "mlbot/train"), key=lambda r: r.id)
    assert "diagnosis" in (check.output.get("text") or "")
