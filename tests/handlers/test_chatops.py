"""bot.handlers.chatops: who may say what, and what each command answers."""

from __future__ import annotations

from bot.core.events import IssueCommentEvent, UnknownEvent
from bot.core.types import TrainingOutcome
from bot.handlers import chatops
from tests.handlers.fakes import HEAD_SHA, REPO, STRICT, FakeForge, FakeRunner, FakeTracker, context


def comment(body: str, author: str = "alice", comment_id: int = 900) -> IssueCommentEvent:
    return IssueCommentEvent("issue_comment", "created", REPO, 1, author, "d-3", number=7, is_pull_request=True,
                             comment_id=comment_id, body=body, author=author,
                             html_url=f"https://x/pull/7#issuecomment-{comment_id}")


def say(ctx, body: str, author: str = "alice", comment_id: int = 900) -> None:  # type: ignore[no-untyped-def]
    """Deliver the comment, then run the job it queued (as a worker would)."""
    chatops.on_comment(comment(body, author, comment_id), ctx)
    for kind, payload, _ in list(ctx.queue.jobs):
        if kind == "mlbot.command" and payload["comment_id"] == comment_id:
            chatops.run_comment(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)


def reply(forge: FakeForge) -> str:
    return forge.bodies()[-1]


def reactions(forge: FakeForge) -> list[str]:
    return [c[2] for c in forge.calls if c[0] == "add_reaction"]


def test_help_answers_anyone_with_the_command_list():
    ctx = context()
    say(ctx, "/help", author="stranger")
    assert "/retrain" in reply(ctx.forge) and reactions(ctx.forge) == ["eyes", "rocket"]


def test_an_unknown_command_gets_a_did_you_mean():
    ctx = context()
    say(ctx, "/retrian")
    assert "did you mean `/retrain`?" in reply(ctx.forge) and reactions(ctx.forge)[-1] == "confused"


def test_the_bots_own_comments_and_plain_text_are_ignored():
    ctx = context()
    say(ctx, "/help", author="mlbot[bot]")
    say(ctx, "looks good")
    assert ctx.forge.calls == [] and ctx.queue.jobs == []


def test_a_comment_delivered_twice_runs_its_commands_once():
    ctx = context()
    say(ctx, "/help", comment_id=5)
    chatops.on_comment(comment("/help", comment_id=5), ctx)  # the same comment, under another delivery id
    assert ctx.queue.kinds() == ["mlbot.command"] and len(ctx.forge.bodies()) == 1


def test_a_writer_may_not_promote():
    ctx = context()
    ctx.tracker.add_run()
    say(ctx, "/promote")
    assert "I did not run `/promote`" in reply(ctx.forge) and ctx.tracker.promotions == []


def test_a_maintainers_promote_of_a_passing_model_moves_production_and_announces_it():
    ctx = context()
    ctx.tracker.add_run()
    say(ctx, "/promote", author="maya")
    assert ctx.tracker.promotions and "🚀 promoted **churn** v1" in ctx.forge.bodies()[-2]
    assert reply(ctx.forge) == "@maya `/promote`: done."


def test_a_maintainers_promote_of_a_failing_model_is_refused_with_the_shared_wording():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = STRICT
    ctx = context(forge)
    ctx.tracker.add_run()
    say(ctx, "/promote", author="maya")
    assert reply(forge).startswith("@maya `/promote`: I did not promote churn: 1 blocking gate(s) did not pass.")
    assert ctx.tracker.promotions == []


def test_a_forced_promote_records_who_asked_and_from_which_comment():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = STRICT
    ctx = context(forge)
    ctx.tracker.add_run()
    say(ctx, '/promote --force --reason "hotfix"', author="maya", comment_id=77)
    [(_, recorded)] = ctx.tracker.promotions
    assert recorded["by"] == "maya" and recorded["force"]
    assert recorded["reason"] == "hotfix (https://x/pull/7#issuecomment-77)"


def test_a_rollback_names_who_asked():
    tracker = FakeTracker()
    ctx = context(tracker=tracker)
    say(ctx, "/rollback --reason broken", author="maya")
    assert tracker.rollbacks[0]["by"] == "maya" and "#issuecomment-900" in tracker.rollbacks[0]["reason"]
    assert "asked by @maya" in reply(ctx.forge)


def run_queued(ctx) -> None:  # type: ignore[no-untyped-def]
    """Run what the queue holds, as a worker would: trainings, then their outcomes."""
    from bot.handlers import lifecycle

    for kind, payload, _ in list(ctx.queue.jobs):
        if kind == "mlbot.train":
            lifecycle.run_queued_training(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)


def test_retrain_with_the_same_parameters_trains_once_unless_the_training_failed():
    runner = FakeRunner(TrainingOutcome(False, None, "", 1, "MLflow was down"))
    ctx = context(runner=runner)
    say(ctx, "/retrain C=0.5", comment_id=1)
    assert "is queued" in reply(ctx.forge)
    run_queued(ctx)  # fails
    say(ctx, "/retrain C=0.5", comment_id=2)  # the advice of a failed report: comment /retrain to retry
    assert "is queued" in reply(ctx.forge)
    runner.outcome = TrainingOutcome(True, "run-1", "", 1, "")
    run_queued(ctx)
    say(ctx, "/retrain C=0.5", comment_id=3)  # succeeded: nothing to do again
    assert "already queued or trained" in reply(ctx.forge)
    assert len([k for k in ctx.queue.kinds() if k == "mlbot.train"]) == 2


def test_retrain_refuses_a_parameter_the_config_does_not_allow():
    ctx = context()
    say(ctx, "/retrain max_iter=5")
    assert "max_iter" in reply(ctx.forge) and "mlbot.train" not in ctx.queue.kinds()


def test_report_before_any_training_says_what_to_do():
    ctx = context()
    say(ctx, "/report")
    assert f"there is no finished training run of {HEAD_SHA[:7]} yet" in reply(ctx.forge)
