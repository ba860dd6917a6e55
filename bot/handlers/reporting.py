"""Reporting on events that change a verdict without a new training: a review submitted or dismissed."""

from __future__ import annotations

from bot.core.events import Event, PullRequestReviewEvent
from bot.handlers.routing import Router
from bot.ports import Context
from bot.usecases.reporting import report_again

router = Router()


@router.register("pull_request_review", "submitted")
@router.register("pull_request_review", "dismissed")
def review_changed(event: Event, ctx: Context) -> None:
    """A review changes the review gate: judge the head commit's run again, if there is one yet."""
    if not isinstance(event, PullRequestReviewEvent) or event.pull is None:
        return
    pull = ctx.forge.get_pull(event.repo, event.pull.number)
    if pull.state == "open":
        report_again(ctx, pull)
