"""Issue 18 through the real stack: GitHub does the promotion's writes but the answers are lost."""

from __future__ import annotations

import pytest

from bot.sandbox.faults import Fault
from tests.flows.conftest import BETTER, MAINTAINER, REPO, REVIEWER, Flow, flow

__all__ = ["flow"]


@pytest.mark.slow
def test_lost_answers_during_a_promotion_leave_one_of_everything(flow: Flow) -> None:
    number, head = flow.open_pull("better-forest", BETTER)
    flow.settle()
    flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.settle()
    assert flow.check(head, "mlbot/gates") == ("completed", "success")

    # From the merge on, every create of the promotion is performed by GitHub and answered 502, once each.
    # (Check runs: tests/github/test_idempotent.py; the promotion creates none.)
    lost = [Fault.from_json({"method": "POST", "path_regex": path, "status": 502, "after": True, "times": 1})
            for path in (r"/issues/\d+/comments$", r"/deployments$", r"/deployments/\d+/statuses$")]
    for fault in lost:
        flow.github.faults.add(fault)
    flow.github.merge(REPO, number, by=MAINTAINER)
    flow.settle()

    assert flow.production() == "2"
    assert [f.hits for f in lost] == [1, 1, 1]  # the promotion's comment, deployment and status all lost
    [deployment] = flow.github.deployments(REPO)
    assert [s.state for s in deployment.statuses] == ["success"]
    assert sum("promoted **breast-cancer** v2" in c for c in flow.bot_comments(number)) == 1
