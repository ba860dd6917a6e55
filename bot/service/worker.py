"""The worker side: turn a stored delivery into a typed event and run the router on it."""

from __future__ import annotations

import logging
import threading

from bot.adapters.queue import Delivery, DurableQueue
from bot.core.events import Event, parse_json
from bot.handlers.routing import Router
from bot.ports import Context
from bot.service.composition import ContextFactory
from bot.service.telemetry import Telemetry

log = logging.getLogger("mlbot.worker")


class DeliveryProcessor:
    """What a worker does with a claimed delivery; the context is built on first use."""

    def __init__(self, router: Router, queue: DurableQueue, context_factory: ContextFactory,
                 telemetry: Telemetry | None = None) -> None:
        self.router, self.queue, self.context_factory = router, queue, context_factory
        self.telemetry = telemetry
        self._context: Context | None = None
        self._lock = threading.Lock()
        self._repositories: set[str] = set()  # remembered in the shared book already, by this process

    def context(self) -> Context:
        """The ports handed to handlers, built once (a process that only pings never talks to GitHub)."""
        with self._lock:
            if self._context is None:
                self._context = self.context_factory(self.queue)
            return self._context

    def __call__(self, delivery: Delivery) -> None:
        """Parse, type and dispatch one delivery; MlbotErrors fail it, anything else is retried."""
        event = Event.from_payload(delivery.event, parse_json(delivery.body), delivery.id)
        if not self.router.handlers_for(event):
            log.debug("ignored %s.%s (delivery %s)", event.name, event.action, delivery.id)
            return
        ctx = self.context()
        if event.repo and event.repo.lower() not in self._repositories and ctx.repositories is not None:
            ctx.repositories.add(event.repo)  # the reconciler looks after it from now on
            self._repositories.add(event.repo.lower())
        ran = self.router.dispatch(event, ctx)
        what = f"{event.name}.{event.action}" if event.action else event.name
        log.info("handled %s%s with %d handler(s) (delivery %s)", what,
                 f" for {event.repo}" if event.repo else "", ran, delivery.id)

    def observe(self, outcome: str, delivery: Delivery, seconds: float) -> None:
        """Count a finished job in the telemetry."""
        if self.telemetry is not None:
            self.telemetry.count("mlbot_jobs_total", outcome=outcome)
            self.telemetry.observe("mlbot_job_seconds", seconds)


def attach_worker(queue: DurableQueue, router: Router, context_factory: ContextFactory,
                  telemetry: Telemetry | None = None) -> DeliveryProcessor:
    """Make `queue` run deliveries through `router`; return the processor."""
    processor = DeliveryProcessor(router, queue, context_factory, telemetry)
    queue.attach(processor, processor.observe)
    return processor
