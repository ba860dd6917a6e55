"""A merge whose webhook never reached the bot is still decided: the reconciler finds it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.flows.conftest import BETTER, MAINTAINER, REPO, REVIEWER, started_flow


def test_a_merge_delivered_while_the_bot_was_down_is_promoted_once_it_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLBOT_RECONCILE_INTERVAL", "1")  # a round a second instead of every ten minutes
    with started_flow(tmp_path) as flow:
        number, _ = flow.open_pull("better-forest", BETTER)
        flow.settle()
        flow.github.review(REPO, number, REVIEWER, "APPROVED")
        flow.settle()
        assert flow.production() == "1"

        hook = flow.github.sender.url
        flow.github.configure_webhook("http://127.0.0.1:9/webhook", flow.stack.secret)  # the bot is down
        flow.github.merge(REPO, number, by=MAINTAINER)
        flow.github.wait_idle()
        [lost] = [d for d in flow.github.deliveries("pull_request") if d.action == "closed"]
        assert lost.status != 202  # GitHub tried once and gave up; it does not redeliver by itself
        flow.github.configure_webhook(hook, flow.stack.secret)  # the bot is back; nobody re-sends anything

        deadline = time.monotonic() + 120
        while flow.production() == "1" and time.monotonic() < deadline:
            time.sleep(0.5)
        flow.settle()
        assert flow.production() == "2", flow.bot_comments(number)
        promoted = [c for c in flow.bot_comments(number) if c.startswith("🚀 promoted")]
        assert len(promoted) == 1
        time.sleep(3)  # more rounds: the reconciler must not decide the same merge again
        flow.settle()
        assert len([c for c in flow.bot_comments(number) if c.startswith("🚀 promoted")]) == 1
