"""Route typed events to handlers registered per (event, action); unhandled events are ignored."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from bot.core.events import Event
from bot.ports import Context

log = logging.getLogger("mlbot.handlers")

Handler = Callable[[Event, Context], None]
ANY_ACTION = "*"
JOB_PREFIX = "mlbot."  # internal job kinds; GitHub event names never contain a dot
# SPEC §5 loop safety: the bot's own comments and PR edits come back as webhooks. A workflow_run
# the bot dispatched also arrives with the bot as sender, and must still be handled.
SELF_IGNORED = frozenset({"issue_comment", "pull_request"})


class Router:
    """Handlers per (event name, action); `*` matches every action of an event."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[Handler]] = defaultdict(list)

    def register(self, event: str, action: str = ANY_ACTION, handler: Handler | None = None
                 ) -> Callable[[Handler], Handler]:
        """Add `handler` for `event`/`action`; without a handler, work as a decorator."""
        def add(fn: Handler) -> Handler:
            self._routes[(event, action)].append(fn)
            return fn

        if handler is not None:
            add(handler)
        return add

    def include(self, other: Router) -> None:
        """Take over every route of `other` (how the handler modules are composed)."""
        for key, handlers in other._routes.items():
            self._routes[key].extend(handlers)

    @classmethod
    def composed(cls, *routers: Router) -> Router:
        """One router holding every route of `routers`, in order."""
        router = cls()
        for other in routers:
            router.include(other)
        return router

    def events(self) -> frozenset[str]:
        """The event (and internal job) names some handler wants."""
        return frozenset(event for event, _ in self._routes)

    def webhook_events(self) -> frozenset[str]:
        """The GitHub events some handler wants; the edge acknowledges the rest without queueing.

        Internal jobs (`mlbot.train`, …) are left out: only the bot itself may queue those.
        """
        return frozenset(event for event in self.events() if not event.startswith(JOB_PREFIX))

    def handlers_for(self, event: Event) -> list[Handler]:
        """The handlers that apply to `event`, specific actions first."""
        return [*self._routes.get((event.name, event.action), []),
                *self._routes.get((event.name, ANY_ACTION), [])]

    def dispatch(self, event: Event, ctx: Context) -> int:
        """Run every handler for `event`; return how many ran (0: ignored)."""
        if event.name in SELF_IGNORED and event.sender and event.sender.lower() == ctx.bot_login.lower():
            log.debug("ignoring %s.%s sent by the bot itself (delivery %s)", event.name, event.action,
                      event.delivery_id)
            return 0
        handlers = self.handlers_for(event)
        if not handlers:
            log.debug("no handler for %s.%s (delivery %s)", event.name, event.action, event.delivery_id)
        for handler in handlers:
            handler(event, ctx)
        return len(handlers)
