"""The production watch's jobs: a scheduled window's watch is dispatched where the repository runs it."""

from __future__ import annotations

from bot.core.events import Event, UnknownEvent
from bot.handlers.routing import Router
from bot.ports import Context
from bot.usecases.watch_schedule import WatchRequested, run_watch

router = Router()


@router.register(WatchRequested.kind)
def on_watch_requested(event: Event, ctx: Context) -> None:
    """Run the watch of the window the job names."""
    if isinstance(event, UnknownEvent):
        run_watch(ctx, WatchRequested.from_payload(event.payload))
