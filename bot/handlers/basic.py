"""The minimal handlers: log pings; mark a new pull request with a neutral `mlbot/train` check.

`router` (pings) is part of the service; `minimal` adds the pull-request mark and stands alone,
for running the webhook service without the lifecycle (which owns pull requests in `build_router`).
"""

from __future__ import annotations

import logging

from bot.core.events import Event, PingEvent, PullRequestEvent
from bot.handlers.routing import Router
from bot.ports import CheckOutput, Context

log = logging.getLogger("mlbot.handlers")

router = Router()
minimal = Router()

TRAIN_CHECK = "mlbot/train"


@router.register("ping")
def log_ping(event: Event, ctx: Context) -> None:
    """Log that GitHub reached us: the hook id and its zen line."""
    if isinstance(event, PingEvent):
        log.info("ping from hook %s on %s: %s", event.hook_id, event.repo or "(app)", event.zen)


@minimal.register("pull_request", "opened")
def mark_pull_request_seen(event: Event, ctx: Context) -> None:
    """Create a neutral `mlbot/train` check on the head commit of a newly opened pull request."""
    if not isinstance(event, PullRequestEvent) or event.pull is None or not event.pull.head_sha:
        return
    ctx.forge.create_check_run(
        event.pull.repo, event.pull.head_sha, TRAIN_CHECK, status="completed", conclusion="neutral",
        output=CheckOutput(title="mlbot has seen this pull request",
                           summary="Training has not started yet; mlbot reports here once it does."),
        external_id=event.delivery_id or None,
    )


minimal.include(router)
