"""How many GitHub calls one pull request costs, counted at the sandbox's HTTP edge."""

from __future__ import annotations

from tests.flows.conftest import BETTER, Flow

BUDGET = 12  # from `pull_request.opened` to the sticky report comment, local runner (issue 10)


def test_from_opened_to_the_sticky_report_takes_at_most_twelve_github_calls(flow: Flow) -> None:
    log = flow.github.record_exchanges()  # every API request the bot makes from here on
    number, _ = flow.open_pull("better-forest", BETTER)
    flow.settle()
    assert len(flow.reports(number)) == 1
    calls = [f"{e.method} {e.path}" for e in log]
    comment_post = f"POST /repos/acme/breast-cancer/issues/{number}/comments"
    assert comment_post in calls, calls
    until_report = calls[:calls.index(comment_post) + 1]
    assert len(until_report) <= BUDGET, "\n".join(until_report)
    # nothing is read twice: config and policies once per base commit, the pull request once
    reads = [c for c in until_report if c.startswith("GET ")]
    assert len(set(reads)) == len(reads), "\n".join(until_report)
