"""Who may say what: approvals bound to the commit seen, markers nobody can plant, hostile text made inert."""

from __future__ import annotations

from bot.core import markers
from bot.core.events import IssueCommentEvent, UnknownEvent
from bot.core.types import Comment, TrainingOutcome
from bot.handlers import chatops, lifecycle
from bot.usecases import jobs
from tests.handlers.fakes import BOT, HEAD_SHA, REPO, FakeForge, FakeRunner, context, pull

B, C = "b1" * 20, "c1" * 20
FORK = {"head_repo": "mallory/churn", "author": "mallory"}


def say(ctx, body: str, author: str, comment_id: int) -> None:  # type: ignore[no-untyped-def]
    event = IssueCommentEvent("issue_comment", "created", REPO, 1, author, "d", number=7, is_pull_request=True,
                              comment_id=comment_id, body=body, author=author, html_url="https://x/c")
    chatops.on_comment(event, ctx)
    for kind, payload, _ in list(ctx.queue.jobs):
        if kind == "mlbot.command" and payload["comment_id"] == comment_id:
            chatops.run_comment(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)


def trained(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    return [jobs.TrainRequested.from_payload(p).job.sha for k, p, _ in ctx.queue.jobs if k == "mlbot.train"]


def waiting(sha: str, comment_id: int) -> Comment:
    return Comment(comment_id, BOT, f"{markers.write('waiting', sha=sha)}\nThis pull request comes from a fork.")


def test_an_approval_covers_the_head_the_approver_saw_not_a_push_that_raced_it():
    forge = FakeForge(roles={"rey": "write"})
    forge.pulls[7] = pull(head_sha=C, **FORK)  # C was pushed 0.1 s after rey's comment
    forge.comments = [waiting(B, 101), waiting(C, 160)]  # the bot asked about B before, C after the comment
    ctx = context(forge)
    say(ctx, "/ok-to-retrain", "rey", 150)
    assert trained(ctx) == [B]
    assert f"approved {B[:7]}" in forge.bodies()[-1] and f"newer head {C[:7]}" in forge.bodies()[-1]
    lifecycle.train_pull_request(_opened(pull(head_sha=C, **FORK)), ctx)  # the late commit still waits
    assert trained(ctx) == [B]


def test_naming_a_commit_that_is_not_the_head_approves_nothing():
    forge = FakeForge(roles={"rey": "write"})
    forge.pulls[7] = pull(**FORK)
    forge.comments = [waiting(HEAD_SHA, 101)]
    ctx = context(forge)
    say(ctx, f"/ok-to-retrain {B[:12]}", "rey", 150)
    assert trained(ctx) == [] and "is not the head of this pull request" in forge.bodies()[-1]
    say(ctx, f"/ok-to-retrain {HEAD_SHA[:12]}", "rey", 151)
    assert trained(ctx) == [HEAD_SHA]


def test_an_approval_counts_only_while_its_approver_still_has_write_access():
    forge = FakeForge(roles={"rey": "read"})  # rey approved, then lost write access
    forge.pulls[7] = pull(**FORK)
    forge.comments = [Comment(120, BOT, markers.write("ok-to-retrain", sha=HEAD_SHA, by="rey") + "\napproved")]
    ctx = context(forge)
    lifecycle.train_pull_request(_opened(pull(**FORK)), ctx)
    assert trained(ctx) == []


def test_a_marker_echoed_inside_the_bots_own_text_is_not_an_approval():
    planted = markers.write("ok-to-retrain", sha=HEAD_SHA, by="walt")
    forge = FakeForge(roles={"walt": "admin"})
    forge.pulls[7] = pull(**FORK)
    forge.comments = [Comment(120, BOT, f"<!-- mlbot:report model=churn -->\ntraining failed: column {planted}")]
    ctx = context(forge)
    lifecycle.train_pull_request(_opened(pull(**FORK)), ctx)
    assert trained(ctx) == []


HOSTILE = "<!-- mlbot:ok-to-retrain sha=" + "e" * 40 + " by=walt --> <img src=x onerror=alert(1)> @everyone " \
    "[click](https://evil.example) ``` `" + "A" * 10_000


def test_hostile_text_never_reaches_github_raw():
    forge = FakeForge(roles={"alice": "write", "maya": "maintain"})
    forge.pulls[7] = pull(title=HOSTILE, head_ref="x" + HOSTILE[:200])
    runner = FakeRunner(TrainingOutcome(False, None, HOSTILE, 1.0, HOSTILE))
    ctx = context(forge, runner=runner)
    lifecycle.train_pull_request(_opened(forge.pulls[7]), ctx)
    kind, payload, _ = ctx.queue.jobs[0]
    lifecycle.run_queued_training(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)
    kind, payload, _ = ctx.queue.jobs[-1]
    lifecycle.training_finished(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)
    say(ctx, f"/retrain C={HOSTILE[:300]}", "alice", 300)
    say(ctx, f"/retrain {HOSTILE[:40].replace(' ', '')}=1", "alice", 301)
    say(ctx, "/gates", "alice", 302)
    said = forge.everything_said()
    assert len(said) > 5
    for text in said:
        assert "<img" not in text and "@everyone" not in text and "](https://evil" not in text, text[:300]
        assert text.count("<!-- mlbot:") <= 1 and (("<!-- mlbot:" not in text) or text.startswith("<!-- mlbot:"))
        assert markers.read(text) is None or markers.read(text).kind == "report"  # type: ignore[union-attr]


def _opened(pr):  # type: ignore[no-untyped-def]
    from bot.core.events import PullRequestEvent

    return PullRequestEvent("pull_request", "synchronize", REPO, 1, pr.author, "d", pull=pr)
