"""bot.usecases.promotion: every branch of promote-or-refuse, and the merge handler around it."""

from __future__ import annotations

import pytest

from bot.core.config import parse_project
from bot.core.errors import UsageError
from bot.core.events import PullRequestEvent, UnknownEvent
from bot.core.types import ModelVersionRef
from bot.handlers import promotion
from bot.usecases import jobs
from bot.usecases.promotion import promote_or_refuse
from tests.handlers.fakes import (
    CONFIG,
    HEAD_SHA,
    MERGE_SHA,
    POLICY,
    REPO,
    STRICT,
    FakeForge,
    FakeTracker,
    context,
    pull,
)

PROJECT = parse_project(CONFIG, "mlbot.yaml")


def decide(tracker: FakeTracker, policy: str = POLICY, **kwargs):  # type: ignore[no-untyped-def]
    run_id = tracker.find_run("", HEAD_SHA)
    assert run_id is not None
    return promote_or_refuse(PROJECT, run_id, tracker=tracker, by="maya",
                             policies={"policies/gates.yaml": policy}, **kwargs)


def test_every_blocking_gate_passing_promotes():
    tracker = FakeTracker()
    tracker.add_run()
    decision = decide(tracker)
    assert decision.refusal is None and decision.promotion is not None
    assert decision.promotion.version == "1" and tracker.promotions[0][1]["by"] == "maya"


def test_a_failing_gate_refuses_and_names_it():
    tracker = FakeTracker()
    tracker.add_run()
    decision = decide(tracker, STRICT)
    assert decision.promotion is None and tracker.promotions == []
    assert decision.refusal is not None and decision.refusal.kind == "gates"
    assert decision.refusal.text.startswith("I did not promote churn: 1 blocking gate(s) did not pass. "
                                            "Production stays where it is.\n- accuracy floor: fail")


def test_production_moving_since_the_run_was_scored_refuses_as_stale():
    tracker = FakeTracker(production=ModelVersionRef("churn", "2", "run-other"))
    tracker.add_run(baseline="1")
    decision = decide(tracker)
    assert decision.refusal is not None and decision.refusal.kind == "stale"
    assert "production moved from v1 to v2" in decision.refusal.text


def test_the_registry_finding_production_moved_under_its_lock_refuses_as_stale():
    tracker = FakeTracker(stale_on_promote=True)
    tracker.add_run()
    refusal = decide(tracker).refusal
    assert refusal is not None and refusal.kind == "stale"


def test_a_deferral_holds_a_passing_candidate_back():
    tracker = FakeTracker()
    tracker.add_run()
    decision = decide(tracker, defer=lambda assessment: "main had other changes")
    assert decision.refusal is not None and decision.refusal.why == "main had other changes"
    assert tracker.promotions == []


def test_force_needs_a_reason_and_records_what_it_overrode():
    tracker = FakeTracker()
    tracker.add_run()
    with pytest.raises(UsageError, match="--force needs --reason"):
        decide(tracker, STRICT, force=True)
    decision = decide(tracker, STRICT, force=True, reason="hotfix")
    assert decision.promotion is not None
    assert tracker.promotions[0][1]["note"] == "gates overridden: accuracy floor"  # the failing one


def test_a_refusal_reads_the_same_from_the_cli():
    tracker = FakeTracker()
    tracker.add_run()
    refusal = decide(tracker, STRICT).refusal
    assert refusal is not None and refusal.error().message == refusal.text


def merged(pr=None) -> PullRequestEvent:  # type: ignore[no-untyped-def]
    return PullRequestEvent("pull_request", "closed", REPO, 1, "maya", "d-2",
                            pull=pr or pull(merged=True, state="closed", merge_commit_sha=MERGE_SHA))


def test_a_merge_queues_one_promotion_decision():
    ctx = context()
    promotion.pull_request_closed(merged(), ctx)
    promotion.pull_request_closed(merged(), ctx)
    assert ctx.queue.kinds() == ["mlbot.promote"]


def test_closing_unmerged_cancels_the_checks_still_running():
    forge = FakeForge()
    ctx = context(forge)
    forge.create_check_run(REPO, HEAD_SHA, "mlbot/train", status="in_progress")
    promotion.pull_request_closed(merged(pull(state="closed")), ctx)
    assert forge.check("mlbot/train").conclusion == "cancelled" and ctx.queue.jobs == []


def run_decision(ctx) -> None:  # type: ignore[no-untyped-def]
    promotion.pull_request_closed(merged(), ctx)
    kind, payload, _ = ctx.queue.jobs[0]
    ctx.forge.pulls[7] = pull(merged=True, state="closed", merge_commit_sha=MERGE_SHA)
    promotion.promote_merged(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)


def test_a_merge_whose_gates_pass_is_promoted_deployed_tagged_and_announced():
    ctx = context()
    ctx.tracker.add_run()
    run_decision(ctx)
    names = ctx.forge.names()
    assert {"create_deployment", "create_deployment_status", "create_tag"} <= set(names)
    assert ctx.forge.bodies()[-1] == "🚀 promoted **churn** v1 to production (was none)."


def test_a_merge_whose_gates_fail_gets_the_refusal_and_nothing_moves():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = STRICT
    ctx = context(forge)
    ctx.tracker.add_run()
    run_decision(ctx)
    assert ctx.tracker.promotions == []
    assert forge.bodies()[-1].startswith("I did not promote churn: 1 blocking gate(s) did not pass.")


def test_a_merge_without_a_trained_run_says_so():
    ctx = context()
    run_decision(ctx)
    assert "there is no finished training run" in ctx.forge.bodies()[-1]


def test_a_stale_merge_trains_the_merge_commit_against_current_production():
    tracker = FakeTracker(production=ModelVersionRef("churn", "2", "run-other"))
    tracker.add_run(baseline="1")
    ctx = context(tracker=tracker)
    run_decision(ctx)
    assert ctx.forge.bodies()[-1].startswith("Not promoted yet: production moved from v1 to v2")
    assert ctx.queue.kinds()[-1] == jobs.TrainRequested.kind
    assert jobs.TrainRequested.from_payload(ctx.queue.jobs[-1][1]).job.sha == MERGE_SHA
