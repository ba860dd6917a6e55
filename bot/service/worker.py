"""The worker side: turn a stored delivery into a typed event and run the router on it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.adapters.queue import Delivery, DurableQueue
from bot.core.errors import Transient
from bot.core.events import Event, parse_json
from bot.handlers.routing import Router
from bot.ports import Context, PromotionIntent
from bot.service.composition import ContextFactory
from bot.service.telemetry import Telemetry
from bot.usecases import failures
from bot.usecases.promotion import finish_owed

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
        self._recovered = False  # interrupted promotions are finished once, when the context is first built

    def context(self) -> Context:
        """The ports handed to handlers, built once (a process that only pings never talks to GitHub).

        Built on the first job, which first finishes any promotion a crash interrupted: by then the
        process is serving, and whatever created the MLflow store has created it.
        """
        with self._lock:
            if self._context is not None:
                return self._context
            ctx = self._context = self.context_factory(self.queue)
        if not self._recovered:
            self.recover_registry(ctx)
        return ctx

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

    def stop_runners(self) -> int:
        """Stop every training running in this process (SIGTERM): their jobs go back to the queue."""
        with self._lock:
            ctx = self._context
        return sum(runner.stop_all() for runner in ctx.runners.values()) if ctx is not None else 0

    def recover_registry(self, ctx: Context | None = None) -> list[PromotionIntent]:
        """Finish the promotions and rollbacks a crash interrupted; return the GitHub effects owed.

        Best effort: MLflow being down now is not a reason not to work (the next move recovers too).
        """
        self._recovered = True
        try:
            ctx = ctx or self.context()
            tracker = ctx.tracker
            owed = tracker.recover() if tracker is not None else []
        except Exception as error:  # MLflow or GitHub down, a bad setting: the next move recovers too
            log.warning("could not look for interrupted promotions: %s", error)
            return []
        for intent in owed:
            log.warning("the %s of %s v%s (ledger #%d) still owes %s on GitHub: doing it now", intent.action,
                        intent.model, intent.version, intent.seq, ", ".join(intent.pending))
        try:
            finish_owed(ctx, owed)
        except Exception as error:  # GitHub down now: the intents stay owed, for the next start or move
            log.warning("could not finish what interrupted promotions owe on GitHub: %s", error)
        return owed

    def on_retry(self, delivery: Delivery, error: Transient, at: float) -> None:
        """The queue will run `delivery` again at `at`: GitHub or MLflow is down (`error.dependency`).

        The place to update the delivery's checks ("GitHub unavailable, retrying at …"); best effort.
        """
        log.warning("delivery %s (%s) waits for %s until %s: %s", delivery.id, delivery.event, error.dependency,
                    time.strftime("%H:%M:%S", time.localtime(at)), error)
        if self.telemetry is not None:
            self.telemetry.count("mlbot_job_retries_total", dependency=error.dependency)
        self._tell(delivery, lambda ctx, target: failures.waiting(ctx, target, error.dependency, at, str(error)))

    def on_give_up(self, delivery: Delivery, error: BaseException) -> None:
        """The queue gave up on `delivery` (called once): complete its checks, post one comment naming what
        failed, the delivery id and `mlbot worker --requeue <id>`; best effort."""
        log.error("delivery %s (%s) gave up: %s; re-queue it with `mlbot worker --requeue %s`", delivery.id,
                  delivery.event, error, delivery.id)
        if self.telemetry is not None:
            self.telemetry.count("mlbot_jobs_given_up_total", event=delivery.event)
        self._tell(delivery, lambda ctx, target: failures.gave_up(ctx, target, delivery.id, str(error)))

    def _tell(self, delivery: Delivery, say: Callable[[Context, failures.Target], None]) -> None:
        """Tell the delivery's pull request, best effort (GitHub may be the very thing that is down)."""
        try:
            target = failures.target_of(Event.from_payload(delivery.event, parse_json(delivery.body), delivery.id))
            if target is not None:
                say(self.context(), target)
        except Exception as error:  # never let telling about a failure fail the queue
            log.warning("could not tell %s's pull request: %s", delivery.id, error)

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
