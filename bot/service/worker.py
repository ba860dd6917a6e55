"""The worker side: turn a stored delivery into a typed event and run the router on it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from bot.adapters.queue import Delivery, DurableQueue
from bot.core.errors import MlbotError, Transient
from bot.core.events import Event, parse_json
from bot.handlers.routing import Router
from bot.ports import Context, Forge, JobQueue, PromotionIntent
from bot.service.settings import Settings
from bot.service.telemetry import Telemetry

log = logging.getLogger("mlbot.worker")

ForgeFactory = Callable[[], Forge]
ContextFactory = Callable[[JobQueue], Context]  # every port at once (see bot.service.composition)


def github_forge(settings: Settings) -> ForgeFactory:
    """The default forge: GitHub (or GHES, or the sandbox) from MLBOT_GITHUB_* settings."""
    def build() -> Forge:
        from bot.adapters.github.client import GitHubForge  # PyGithub stays out of the edge's import path

        return GitHubForge.from_settings(settings)

    return build


class _LazyForge:
    """Stands in for the forge until a handler first calls it."""

    def __init__(self, factory: ForgeFactory) -> None:
        self._factory, self._lock = factory, threading.Lock()
        self._forge: Forge | None = None

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._forge is None:
                self._forge = self._factory()
        return getattr(self._forge, name)


class DeliveryProcessor:
    """What a worker does with a claimed delivery; the context is built on first use."""

    def __init__(self, router: Router, queue: DurableQueue, forge_factory: ForgeFactory, bot_login: str,
                 telemetry: Telemetry | None = None, context_factory: ContextFactory | None = None) -> None:
        self.router, self.queue, self.forge_factory, self.bot_login = router, queue, forge_factory, bot_login
        self.telemetry = telemetry
        self.context_factory = context_factory
        self._context: Context | None = None
        self._lock = threading.Lock()

    def context(self) -> Context:
        """The ports handed to handlers; the forge is built on its first use, so a ping needs no token."""
        with self._lock:
            if self._context is None and self.context_factory is not None:
                self._context = self.context_factory(self.queue)
            if self._context is None:
                forge = cast(Forge, _LazyForge(self.forge_factory))
                self._context = Context(forge=forge, queue=self.queue, bot_login=self.bot_login)
            return self._context

    def __call__(self, delivery: Delivery) -> None:
        """Parse, type and dispatch one delivery; MlbotErrors fail it, anything else is retried."""
        event = Event.from_payload(delivery.event, parse_json(delivery.body), delivery.id)
        if not self.router.handlers_for(event):
            log.debug("ignored %s.%s (delivery %s)", event.name, event.action, delivery.id)
            return
        ran = self.router.dispatch(event, self.context())
        log.info("handled %s.%s for %s with %d handler(s) (delivery %s)", event.name, event.action,
                 event.repo or "-", ran, delivery.id)

    def recover_registry(self) -> list[PromotionIntent]:
        """At start: finish the promotions and rollbacks a crash interrupted; return the GitHub effects owed.

        Best effort: MLflow being down now is not a reason not to start (the next move recovers too).
        """
        try:
            tracker = self.context().tracker
            owed = tracker.recover() if tracker is not None else []
        except MlbotError as error:
            log.warning("could not look for interrupted promotions: %s", error)
            return []
        for intent in owed:
            log.warning("the %s of %s v%s (ledger #%d) still owes %s on GitHub", intent.action, intent.model,
                        intent.version, intent.seq, ", ".join(intent.pending))
        return owed

    def on_retry(self, delivery: Delivery, error: Transient, at: float) -> None:
        """The queue will run `delivery` again at `at`: GitHub or MLflow is down (`error.dependency`).

        The place to update the delivery's checks ("GitHub unavailable, retrying at …"); best effort.
        """
        log.warning("delivery %s (%s) waits for %s until %s: %s", delivery.id, delivery.event, error.dependency,
                    time.strftime("%H:%M:%S", time.localtime(at)), error)
        if self.telemetry is not None:
            self.telemetry.count("mlbot_job_retries_total", dependency=error.dependency)

    def on_give_up(self, delivery: Delivery, error: BaseException) -> None:
        """The queue gave up on `delivery` (called once): complete its checks, post one comment naming what
        failed, the delivery id and `mlbot worker --requeue <id>`; best effort."""
        log.error("delivery %s (%s) gave up: %s; re-queue it with `mlbot worker --requeue %s`", delivery.id,
                  delivery.event, error, delivery.id)
        if self.telemetry is not None:
            self.telemetry.count("mlbot_dead_letters_total", event=delivery.event)

    def observe(self, outcome: str, delivery: Delivery, seconds: float) -> None:
        """Count a finished job in the telemetry."""
        if self.telemetry is not None:
            self.telemetry.count("mlbot_jobs_total", outcome=outcome)
            self.telemetry.observe("mlbot_job_seconds", seconds)


def attach_worker(queue: DurableQueue, router: Router, forge_factory: ForgeFactory, bot_login: str,
                  telemetry: Telemetry | None = None, context_factory: ContextFactory | None = None,
                  ) -> DeliveryProcessor:
    """Make `queue` run deliveries through `router`; return the processor."""
    processor = DeliveryProcessor(router, queue, forge_factory, bot_login, telemetry, context_factory)
    queue.attach(processor, processor.observe)
    return processor
