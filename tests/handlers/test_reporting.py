"""bot.usecases.reporting through its handlers: finished trainings and reviews become the report and checks."""

from __future__ import annotations

from bot.core.events import PullRequestReviewEvent, UnknownEvent
from bot.core.types import Review, TrainingJob, TrainingOutcome
from bot.handlers import lifecycle, reporting
from bot.usecases import jobs
from tests.handlers.fakes import HEAD_SHA, REPO, REVIEWED, FakeForge, context, pull

MARKER = "<!-- mlbot:report model=churn -->"


def finished(outcome: TrainingOutcome, sha: str = HEAD_SHA, check_id: int | None = None) -> UnknownEvent:
    job = TrainingJob(repo=REPO, sha=sha, pr=7, branch="tune")
    done = jobs.TrainingFinished(job, outcome, check_id)
    return UnknownEvent(done.kind, "", "", None, "", payload=done.payload())


def test_a_finished_training_becomes_the_sticky_report_and_both_checks():
    ctx = context()
    ctx.tracker.add_run(HEAD_SHA)
    lifecycle.training_finished(finished(TrainingOutcome(True, ctx.tracker.find_run("", HEAD_SHA), "", 1, "")), ctx)
    forge = ctx.forge
    [report] = [b for b in forge.bodies() if b.startswith(MARKER)]
    assert "accuracy" in report
    assert forge.check("mlbot/train").conclusion == "success"
    assert forge.check("mlbot/gates").conclusion == "success"
    assert forge.names().count("get_pull") == 1  # the pull read once per job, handed down


def test_an_older_commits_run_is_superseded_and_posts_nothing():
    forge = FakeForge()
    ctx = context(forge)
    forge.pulls[7] = pull(head_sha="d" * 40)
    lifecycle.training_finished(finished(TrainingOutcome(True, "run-x", "", 1, ""), check_id=42), ctx)
    assert ("update_check_run", 42, "completed", "neutral", "Superseded") in forge.calls
    assert forge.comments == []


def test_a_failed_training_says_so_with_the_log_tail_and_fails_the_train_check():
    ctx = context()
    lifecycle.training_finished(finished(TrainingOutcome(False, None, "Traceback: boom", 1, "fit failed")), ctx)
    [report] = ctx.forge.bodies()
    assert report.startswith(MARKER) and "boom" in report and "`/retrain`" in report
    assert ctx.forge.check("mlbot/train").conclusion == "failure"
    assert ctx.forge.check("mlbot/gates").conclusion == "neutral"


def test_a_merge_retrained_goes_on_to_the_promotion_decision():
    ctx = context()
    job = TrainingJob(repo=REPO, sha="c" * 40, pr=7, branch="tune", trigger="merge")
    done = jobs.TrainingFinished(job, TrainingOutcome(True, "run-m", "", 1, ""))
    lifecycle.training_finished(UnknownEvent(done.kind, "", "", None, "", payload=done.payload()), ctx)
    [(kind, payload, _)] = ctx.queue.jobs
    assert kind == "mlbot.promote" and payload["run_id"] == "run-m"


def test_an_approving_review_turns_a_waiting_gates_check_green():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = REVIEWED
    ctx = context(forge)
    ctx.tracker.add_run(HEAD_SHA)
    event = PullRequestReviewEvent("pull_request_review", "submitted", REPO, 1, "rey", pull=pull())
    reporting.review_changed(event, ctx)
    assert forge.check("mlbot/gates").conclusion == "neutral"  # waiting for a review, never red
    forge.reviews.append(Review("rey", "APPROVED"))
    reporting.review_changed(event, ctx)
    assert forge.check("mlbot/gates").conclusion == "success"
    assert len([b for b in forge.bodies() if b.startswith(MARKER)]) == 1


def test_a_review_before_any_training_changes_nothing():
    ctx = context()
    reporting.review_changed(PullRequestReviewEvent("pull_request_review", "submitted", REPO, 1, "rey",
                                                    pull=pull()), ctx)
    assert ctx.forge.comments == [] and ctx.forge.checks == []
