"""What the pull request is told while its job waits out an outage, and when the bot finally gives up.

A job that GitHub or MLflow being down keeps failing waits in the queue (bounded); its `mlbot/train`
check says so meanwhile. When the queue gives up, the checks are completed (never left running) and
the pull request gets one comment naming what failed, the delivery and the command that re-queues it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.core import markers
from bot.core.events import Event, IssueCommentEvent, PullRequestEvent, UnknownEvent
from bot.core.report import escape_md
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.checks import GATES_CHECK, TRAIN_CHECK, set_check


@dataclass(frozen=True)
class Target:
    """The pull request (and commit) a delivery is about."""

    repo: str
    pr: int | None
    sha: str | None = None
    check_id: int | None = None
    what: str = "this pull request's event"


def target_of(event: Event) -> Target | None:
    """Which pull request a delivery concerns, if any."""
    if isinstance(event, PullRequestEvent) and event.pull is not None:
        return Target(event.repo, event.pull.number, event.pull.head_sha, what=f"`pull_request.{event.action}`")
    if isinstance(event, IssueCommentEvent) and event.is_pull_request:
        return Target(event.repo, event.number, what="your comment")
    if isinstance(event, UnknownEvent):
        payload = event.payload
        if event.name == jobs.TrainRequested.kind:
            train = jobs.TrainRequested.from_payload(payload)
            return Target(train.job.repo, train.job.pr, train.job.sha, train.check_id, "the training")
        if event.name == jobs.TrainingFinished.kind:
            done = jobs.TrainingFinished.from_payload(payload)
            return Target(done.job.repo, done.job.pr, done.job.sha, done.check_id, "the report")
        if event.name == jobs.PromotionRequested.kind:
            asked = jobs.PromotionRequested.from_payload(payload)
            return Target(asked.repo, asked.pr, what="the promotion decision")
        if event.name == jobs.CommandRequested.kind:
            command = jobs.CommandRequested.from_payload(payload)
            return Target(command.repo, command.number, what="your comment's commands")
    return None


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(at))


def waiting(ctx: Context, target: Target, dependency: str, at: float, error: str) -> None:
    """Say on the commit's `mlbot/train` check that the job waits for `dependency`, and until when."""
    if target.sha and target.pr is not None:
        set_check(ctx, target.repo, target.sha, TRAIN_CHECK, status="in_progress", check_id=target.check_id,
                  title=f"{dependency} unavailable, retrying at {_clock(at)}",
                  summary=f"{escape_md(error)}\n\nI retry by myself; nothing to do.")


def gave_up(ctx: Context, target: Target, delivery_id: str, error: str) -> None:
    """Complete the checks and post one comment: what failed, the delivery, how to re-queue it."""
    if target.sha:
        set_check(ctx, target.repo, target.sha, TRAIN_CHECK, status="completed", conclusion="failure",
                  check_id=target.check_id, title="mlbot gave up", summary=escape_md(error))
        set_check(ctx, target.repo, target.sha, GATES_CHECK, status="completed", conclusion="neutral",
                  title="Nothing judged", summary="mlbot gave up before any gate was evaluated.")
    if target.pr is not None:
        ctx.forge.create_comment(target.repo, target.pr, (
            f"{markers.write('gave-up', delivery=delivery_id)}\n"
            f"I gave up on {target.what}: {escape_md(error)}\n\n"
            f"Delivery `{escape_md(delivery_id)}`. Once the cause is fixed, an operator re-queues it with "
            f"`mlbot worker --requeue {escape_md(delivery_id)}`; or push again, or comment `/retrain`."))
