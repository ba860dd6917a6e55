"""A pull request's life through the real stack: train, report, review, push, merge, promote."""

from __future__ import annotations

from tests.flows.conftest import BETTER, MAINTAINER, REPO, REVIEWER, WORSE, Flow


def test_a_better_model_is_reported_updated_on_push_and_promoted_on_merge(flow: Flow) -> None:
    number, first_sha = flow.open_pull("better-forest", BETTER)
    flow.settle()
    assert flow.check(first_sha, "mlbot/train") == ("completed", "success")
    [report] = flow.reports(number)
    assert first_sha[:7] in report or "promotable" in report.lower() or "review" in report.lower()
    # the review gate waits for a reviewer: neutral, never failure
    assert flow.check(first_sha, "mlbot/gates") == ("completed", "neutral")

    flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.settle()
    assert flow.check(first_sha, "mlbot/gates") == ("completed", "success")

    second_sha = flow.github.push_commit(REPO, "better-forest", {"src/features.md": "# features\nmore notes\n"},
                                         "Document features", author="alice")
    flow.settle()
    assert flow.check(second_sha, "mlbot/train") == ("completed", "success")
    reports = flow.reports(number)
    assert len(reports) == 1, "the sticky report is edited in place, never duplicated"
    run_id = flow.tracker.find_run("breast-cancer", second_sha)
    assert run_id is not None and run_id in reports[0]

    flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.github.merge(REPO, number, by=MAINTAINER)
    flow.settle()
    assert flow.production() == "2"
    [deployment] = flow.github.deployments(REPO)
    assert deployment.environment == "production"
    assert [s.state for s in deployment.statuses] == ["success"]
    assert any("promoted **breast-cancer** v2 to production (was v1)" in c for c in flow.bot_comments(number))

    merged = [d for d in flow.github.deliveries("pull_request") if d.action == "closed"]
    flow.github.redeliver(merged[-1].id)
    flow.settle()
    assert flow.production() == "2"
    assert len(flow.github.deployments(REPO)) == 1
    assert sum("promoted **breast-cancer**" in c for c in flow.bot_comments(number)) == 1


def test_a_worse_model_fails_the_gates_and_merging_it_promotes_nothing(flow: Flow) -> None:
    number, sha = flow.open_pull("stump", WORSE)
    flow.settle()
    assert flow.check(sha, "mlbot/gates") == ("completed", "failure")
    [report] = flow.reports(number)
    assert "roc_auc is not worse than production" in report and "blocked" in report

    flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.github.merge(REPO, number, by=MAINTAINER)
    flow.settle()
    assert flow.production() == "1"
    refusal = [c for c in flow.bot_comments(number) if c.startswith("I did not promote")]
    assert refusal and "roc_auc is not worse than production: fail" in refusal[0]
    assert flow.github.deployments(REPO) == []
