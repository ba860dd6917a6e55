"""Group commits for the webhook edge: many requests' deliveries, one durable write, off the event loop."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from bot.adapters.queue import DurableQueue
from bot.adapters.queue.model import Delivery

log = logging.getLogger("mlbot.queue")

Result = bool | BaseException  # True accepted, False duplicate, or why the write failed
Sink = Callable[[list[tuple[Any, Result]]], None]
_STOP = object()


class AcceptBatcher:
    """A writer thread: take what requests submitted, store it in one transaction, report back.

    One transaction per batch instead of per request is what lets a durable 202 keep up with a
    bare endpoint (FIELD-NOTES: a synchronous insert per request blocks the loop and caps it).
    """

    def __init__(self, durable: DurableQueue, sink: Sink, *, max_batch: int = 256) -> None:
        self.durable, self.sink, self.max_batch = durable, sink, max_batch
        self._inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="mlbot-accept", daemon=True)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def submit(self, delivery: Delivery, token: Any) -> None:
        """Queue `delivery` for the next write; `token` comes back to the sink with the result."""
        self._inbox.put((delivery, token))

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop."""
        self._inbox.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            batch = [self._inbox.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            stopping = any(item is _STOP for item in batch)
            work = [item for item in batch if item is not _STOP]
            if work:
                self._write(work)
            if stopping:
                return

    def _write(self, work: list[tuple[Delivery, Any]]) -> None:
        deliveries = [d for d, _ in work]
        try:
            results: list[Result] = list(self.durable.accept(deliveries))
        except Exception as error:  # the requests answer 503; the sender retries the delivery
            log.exception("could not store %d deliveries", len(deliveries))
            results = [error] * len(deliveries)
        self.sink([(token, result) for (_, token), result in zip(work, results, strict=True)])
        accepted = [d.id for d, r in zip(deliveries, results, strict=True) if r is True]
        try:
            self.durable.dispatch_accepted(accepted)
        except Exception:  # stored already: the reaper re-dispatches once the hint is due
            log.exception("could not dispatch %d stored deliveries; the reaper will", len(accepted))
