"""bot.handlers.lifecycle: what a pull request event, a queued training and a workflow run make the bot do."""

from __future__ import annotations

from bot.core.authz import run_nonce
from bot.core.events import PullRequestEvent, UnknownEvent, WorkflowRunEvent
from bot.core.types import TrainingOutcome
from bot.handlers import lifecycle
from bot.usecases import jobs
from tests.handlers.fakes import BASE_SHA, HEAD_SHA, REPO, FakeForge, FakeRunner, context, pull


def opened(pr=None) -> PullRequestEvent:
    return PullRequestEvent("pull_request", "opened", REPO, 1, "alice", "d-1", pull=pr or pull())


def test_a_writers_pull_request_touching_model_inputs_queues_training_after_its_check_exists():
    ctx = context()
    lifecycle.train_pull_request(opened(), ctx)
    forge = ctx.forge
    [train] = [c for c in forge.checks if c.name == "mlbot/train"]
    assert (train.status, train.head_sha) == ("queued", HEAD_SHA)
    [(kind, payload, key)] = ctx.queue.jobs
    assert kind == "mlbot.train" and key.startswith("job:train:acme/churn:" + HEAD_SHA)
    assert payload["check_id"] == train.id  # the job updates the check it was queued with
    # settings are read at the base sha, and a trusted author's comments are never listed
    assert ("get_file", "mlbot.yaml", BASE_SHA) in forge.calls
    assert "list_comments" not in forge.names() and "default_branch" not in forge.names()


def test_a_pull_request_that_changes_no_model_input_is_skipped():
    forge = FakeForge(changed=["README.md"])
    ctx = context(forge)
    lifecycle.train_pull_request(opened(), ctx)
    assert (forge.check("mlbot/train").status, forge.check("mlbot/train").conclusion) == ("completed", "skipped")
    assert ctx.queue.jobs == []


def test_a_fork_waits_for_approval_with_a_neutral_check_and_one_comment():
    forge = FakeForge()
    ctx = context(forge)
    fork = pull(head_repo="mallory/churn", author="mallory")
    lifecycle.train_pull_request(opened(fork), ctx)
    lifecycle.train_pull_request(opened(fork), ctx)
    assert forge.check("mlbot/train").conclusion == "neutral"
    assert len([b for b in forge.bodies() if b.startswith(f"<!-- mlbot:waiting sha={HEAD_SHA} -->")]) == 1
    assert ctx.queue.jobs == []


def test_a_broken_policy_on_the_base_branch_fails_the_train_check_at_once_and_trains_nothing():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = "gates:\n  - name: x\n    metric: acuracy\n    min: 0.5\n"
    ctx = context(forge)
    lifecycle.train_pull_request(opened(), ctx)
    assert forge.check("mlbot/train").conclusion == "failure"
    [(_, _, _, _, title)] = [c for c in forge.calls if c[0] == "create_check_run"]
    assert "policy" in title and ctx.queue.jobs == []


def test_the_same_commit_is_not_queued_twice_and_gets_no_second_check():
    ctx = context()
    lifecycle.train_pull_request(opened(), ctx)
    lifecycle.train_pull_request(opened(), ctx)
    assert len(ctx.queue.jobs) == 1
    assert len([c for c in ctx.forge.checks if c.name == "mlbot/train"]) == 1


def test_drafts_are_not_trained():
    ctx = context()
    lifecycle.train_pull_request(opened(pull(draft=True)), ctx)
    assert ctx.forge.calls == [] and ctx.queue.jobs == []


def test_a_queued_training_runs_on_the_local_runner_and_queues_its_outcome():
    runner = FakeRunner(TrainingOutcome(True, "run-1", "", 1.0, "ok"))
    ctx = context(runner=runner)
    lifecycle.train_pull_request(opened(), ctx)
    kind, payload, _ = ctx.queue.jobs[0]
    lifecycle.run_queued_training(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)
    assert [j.sha for j in runner.jobs] == [HEAD_SHA]
    check_id = payload["check_id"]
    assert ("update_check_run", check_id, "in_progress", None, "Training") in ctx.forge.calls
    assert "list_check_runs" not in ctx.forge.names()  # the check's id travelled with the job
    finished = jobs.TrainingFinished.from_payload(ctx.queue.jobs[-1][1])
    assert (finished.outcome.run_id, finished.check_id) == ("run-1", check_id)


def dispatched_run(ctx, *, title: str | None = None, **changes) -> WorkflowRunEvent:  # type: ignore[no-untyped-def]
    nonce = run_nonce(ctx.signing_keys[0], REPO, HEAD_SHA, 7)
    fields = {"run_id": 3, "display_title": title or f"mlbot train sha={HEAD_SHA} pr=7 nonce={nonce}",
              "conclusion": "success", "html_url": "https://x/runs/3", "event": "workflow_dispatch",
              "workflow_path": ".github/workflows/mlbot-train.yml", "head_branch": "main", **changes}
    return WorkflowRunEvent("workflow_run", "completed", REPO, 1, "mlbot[bot]", **fields)


def test_a_workflow_run_whose_title_names_no_pull_request_is_ignored():
    ctx = context()
    lifecycle.workflow_finished(WorkflowRunEvent("workflow_run", "completed", REPO, 1, "mlbot[bot]",
                                                 display_title="nightly"), ctx)
    assert ctx.forge.calls == []


def test_a_finished_workflow_run_the_bot_dispatched_reports_like_a_local_run():
    forge = FakeForge()
    ctx = context(forge)
    ctx.tracker.add_run(HEAD_SHA)
    lifecycle.workflow_finished(dispatched_run(ctx), ctx)
    assert forge.check("mlbot/train").conclusion == "success"
    assert any(b.startswith("<!-- mlbot:report model=churn -->") for b in forge.bodies())


def test_a_workflow_run_the_bot_did_not_dispatch_changes_nothing():
    ctx = context()
    ctx.tracker.add_run(HEAD_SHA)
    ours = run_nonce(ctx.signing_keys[0], REPO, HEAD_SHA, 7)
    forged = [
        dispatched_run(ctx, title=f"mlbot train sha={HEAD_SHA} pr=7 nonce={'0' * 32}"),  # a guessed nonce
        dispatched_run(ctx, event="pull_request"),  # a fork's own workflow naming itself like ours
        dispatched_run(ctx, workflow_path=".github/workflows/other.yml"),
        dispatched_run(ctx, head_branch="feature"),
        dispatched_run(ctx, title=f"mlbot train sha={'d' * 40} pr=7 nonce={ours}"),  # a nonce for another commit
    ]
    for event in forged:
        lifecycle.workflow_finished(event, ctx)
    assert ctx.forge.checks == [] and ctx.forge.comments == []


def test_a_training_cut_short_by_a_shutdown_goes_back_to_the_queue_instead_of_failing():
    import pytest

    from bot.core.errors import ShuttingDown

    runner = FakeRunner(TrainingOutcome(False, None, "", 1.0, "stopped"))
    ctx = context(runner=runner)
    lifecycle.train_pull_request(opened(), ctx)
    kind, payload, _ = ctx.queue.jobs[0]
    runner.stop_all()  # SIGTERM: what runs is killed, nothing new starts
    with pytest.raises(ShuttingDown):  # not an MlbotError: the queue runs the job again after the restart
        lifecycle.run_queued_training(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)
    assert ctx.queue.kinds() == ["mlbot.train"]  # no "training failed" outcome was queued
