"""Promotion on merge: queue the decision; a PR closed unmerged cancels its pending checks."""

from __future__ import annotations

from bot.core.events import Event, PullRequestEvent, UnknownEvent
from bot.handlers.routing import Router
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.checks import GATES_CHECK, TRAIN_CHECK, find_check
from bot.usecases.promotion import on_merge

router = Router()


@router.register("pull_request", "closed")
def pull_request_closed(event: Event, ctx: Context) -> None:
    """Merged: queue the promotion decision (once per merge). Closed unmerged: cancel what is pending."""
    if not isinstance(event, PullRequestEvent) or event.pull is None:
        return
    pull = event.pull
    if pull.merged:
        request = jobs.PromotionRequested(repo=pull.repo, pr=pull.number, sha=pull.head_sha, by=event.sender,
                                          base_sha=pull.base_sha)
        jobs.enqueue(ctx.queue, request, jobs.promotion_key(pull.repo, pull.number,
                                                            pull.merge_commit_sha or pull.head_sha))
        return
    for name in (TRAIN_CHECK, GATES_CHECK):
        check = find_check(ctx, pull.repo, pull.head_sha, name)
        if check is not None and check.status != "completed":
            ctx.forge.update_check_run(pull.repo, check.id, status="completed", conclusion="cancelled")


@router.register(jobs.PromotionRequested.kind)
def promote_merged(event: Event, ctx: Context) -> None:
    """Decide, after the merge, whether the merged PR's model becomes production."""
    if isinstance(event, UnknownEvent):
        on_merge(ctx, jobs.PromotionRequested.from_payload(event.payload))
