"""Pings: log that GitHub reached us (the hook id and its zen line)."""

from __future__ import annotations

import logging

from bot.core.events import Event, PingEvent
from bot.handlers.routing import Router
from bot.ports import Context

log = logging.getLogger("mlbot.handlers")

router = Router()


@router.register("ping")
def log_ping(event: Event, ctx: Context) -> None:
    """Log the ping's hook and zen line."""
    if isinstance(event, PingEvent):
        log.info("ping from hook %s on %s: %s", event.hook_id, event.repo or "(app)", event.zen)
