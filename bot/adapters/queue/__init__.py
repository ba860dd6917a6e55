"""The durable queue: every accepted delivery is stored before the 202 and processed once.

Huey carries the work (its consumer threads, its schedule for retries, SQLite or Redis storage);
our own deliveries record (`DeliveryStore`) carries the truth: a UNIQUE delivery id for dedupe,
and the states queued → running → done | failed | dead. Huey removes a message before running
it, so a worker killed mid-job would lose it; instead every running delivery holds a lease and
the reaper re-dispatches deliveries whose lease expired (live workers keep renewing theirs). A
huey message is only a hint: claiming the delivery is atomic, so duplicate messages are harmless.
On SQLite the messages are written in the same transaction as the deliveries they run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from huey.api import Huey
from huey.consumer import Consumer
from huey.storage import RedisStorage, SqliteStorage

from bot.adapters.queue.model import DeadLetter, Delivery, DeliveryStore, State
from bot.core.errors import MlbotError, UsageError

__all__ = ["DeadLetter", "Delivery", "DurableQueue", "Outcome", "open_queue"]

log = logging.getLogger("mlbot.queue")

Processor = Callable[[Delivery], None]
Outcome = Callable[[str, Delivery, float], None]  # (done|failed|retry|dead, delivery, seconds)


class _ThreadConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer without signal handlers: the host process (uvicorn) owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


class _SqliteHints(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage, batched, with NORMAL sync: its messages are hints, our record is the truth."""

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")  # FULL (the default) costs an fsync per message
        return conn

    def enqueue_many(self, items: list[bytes]) -> None:
        with self.db(commit=True) as cursor:
            self.insert(cursor, items)

    def insert(self, cursor: Any, items: list[bytes]) -> None:
        """Add messages with `cursor`, in its transaction (huey's `task` table, one statement)."""
        if items:
            cursor.execute("insert into task (queue, data, priority) values "
                           + ",".join(["(?, ?, 0)"] * len(items)),
                           [v for data in items for v in (self.name, data)])


class _RedisHints(RedisStorage):  # type: ignore[misc]
    """Huey's Redis storage with one LPUSH for a batch (the consumer pops from the other end)."""

    def enqueue_many(self, items: list[bytes]) -> None:
        self.conn.lpush(self.queue_key, *items)


class DurableQueue:
    """Implements `ports.JobQueue`; also the edge's `accept` and the worker's consumer."""

    def __init__(self, store: DeliveryStore, huey: Huey, *, lease_seconds: float = 300.0,
                 max_attempts: int = 5, retry_delay: float = 2.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.huey = store, huey
        self.lease_seconds, self.max_attempts, self.retry_delay = lease_seconds, max_attempts, retry_delay
        self._clock = clock
        self._process: Processor | None = None
        self._observe: Outcome | None = None
        self._task = huey.task(name="mlbot.run_delivery")(self._run)
        self.dispatched_on_accept = False
        self._stop = threading.Event()
        self._held: dict[str, int] = {}  # deliveries this process runs now → the attempt holding them
        self._held_lock = threading.Lock()

    # --- the edge ---------------------------------------------------------------------------

    def accept(self, deliveries: Sequence[Delivery]) -> list[bool]:
        """Store deliveries durably (one transaction); False marks a duplicate id."""
        now = self._clock()
        return self.store.accept(deliveries, now, now + self.lease_seconds)

    def messages(self, delivery_ids: Sequence[str]) -> list[bytes]:
        """Huey's serialized messages that run these deliveries."""
        return [self.huey.serialize_task(self._task.s(i)) for i in delivery_ids]

    def dispatch(self, delivery_ids: Sequence[str]) -> None:
        """Hand deliveries to the workers (a lost message is recovered by the reaper)."""
        if delivery_ids:
            self.huey.storage.enqueue_many(self.messages(delivery_ids))

    def dispatch_accepted(self, delivery_ids: Sequence[str]) -> None:
        """Dispatch what `accept` stored, unless the store already did it in the same transaction."""
        if not self.dispatched_on_accept:
            self.dispatch(delivery_ids)

    def enqueue(self, kind: str, payload: Mapping[str, Any], *, key: str | None = None) -> bool:
        """Queue an internal job; False when a job with the same key was already accepted."""
        delivery = Delivery(key or f"job-{uuid.uuid4()}", kind, json.dumps(payload).encode())
        accepted = self.accept([delivery])[0]
        if accepted:
            self.dispatch_accepted([delivery.id])
        return accepted

    # --- the worker -------------------------------------------------------------------------

    def known(self, key: str) -> bool:
        """Whether a delivery or job with this id was ever accepted (finished ones included)."""
        return self.store.state(key) is not None

    def attach(self, processor: Processor, observe: Outcome | None = None) -> None:
        """Set what a worker does with a claimed delivery (raise to fail it)."""
        self._process, self._observe = processor, observe

    def run_one(self, delivery_id: str) -> State | None:
        """Claim and process one delivery now; the state it ended in (None: not claimable)."""
        return self._run(delivery_id)

    def _run(self, delivery_id: str) -> State | None:
        if self._process is None:
            raise RuntimeError("this queue has no processor attached; run `mlbot worker`")
        now = self._clock()
        delivery = self.store.claim(delivery_id, now, now + self.lease_seconds)
        if delivery is None:
            return None  # done already, or running under a live lease elsewhere
        if delivery.attempts > self.max_attempts:
            return self._settle(delivery, "dead", f"gave up: its worker stopped {delivery.attempts - 1} "
                                f"times while running it", time.perf_counter())
        started = time.perf_counter()
        with self._held_lock:
            self._held[delivery.id] = delivery.attempts
        try:
            self._process(delivery)
        except MlbotError as error:
            log.warning("delivery %s (%s) failed: %s", delivery.id, delivery.event, error)
            return self._settle(delivery, "failed", str(error), started)
        except Exception as error:
            log.exception("delivery %s (%s) raised unexpectedly (attempt %d of %d)", delivery.id,
                          delivery.event, delivery.attempts, self.max_attempts)
            reason = f"{type(error).__name__}: {error}"
            if delivery.attempts >= self.max_attempts:
                return self._settle(delivery, "dead", reason, started)
            delay = self.retry_delay * 2 ** (delivery.attempts - 1)
            state = self._settle(delivery, "queued", reason, started, delay=delay)
            self._task.schedule(args=(delivery.id,), delay=delay)
            return state
        return self._settle(delivery, "done", "", started)

    def _settle(self, delivery: Delivery, state: State, error: str, started: float,
                delay: float = 0.0) -> State:
        with self._held_lock:
            self._held.pop(delivery.id, None)
        now = self._clock()
        if not self.store.settle(delivery.id, delivery.attempts, state, error, now,
                                 now + delay + self.lease_seconds):
            log.warning("delivery %s was taken over by another worker (its lease expired)", delivery.id)
        if self._observe:
            self._observe("retry" if state == "queued" else state, delivery, time.perf_counter() - started)
        return state

    def renew_leases(self) -> int:
        """Extend the leases of the jobs this process is running (a live worker keeps its jobs)."""
        with self._held_lock:
            held = list(self._held.items())
        if held:
            self.store.renew(held, self._clock() + self.lease_seconds)
        return len(held)

    def reap(self, limit: int = 500) -> int:
        """Re-dispatch deliveries whose lease or dispatch expired; how many were found."""
        now = self._clock()
        ids = self.store.due(now, limit)
        if ids:
            log.info("re-dispatching %d deliveries whose lease expired", len(ids))
            self.store.postpone(ids, now + self.lease_seconds)
            self.dispatch(ids)
        return len(ids)

    def consumer(self, workers: int = 2, *, in_thread: bool = True) -> Consumer:
        """A huey consumer for this queue (threads); `in_thread` leaves signals to the host."""
        kind = _ThreadConsumer if in_thread else Consumer
        return kind(self.huey, workers=workers, periodic=False, initial_delay=0.02, backoff=1.5,
                    max_delay=0.25, scheduler_interval=1, worker_type="thread", shutdown_timeout=10,
                    graceful_signal="TERM")  # what Docker and Kubernetes send; Ctrl-C stops at once

    def start_reaper(self, interval: float | None = None) -> threading.Thread:
        """Renew own leases and reap expired ones now, then every `interval` seconds until `close`.

        A job runs as long as it needs while its worker lives; only a dead worker's leases expire.
        """
        every = interval if interval is not None else max(0.2, min(10.0, self.lease_seconds / 4))

        def loop() -> None:
            while True:
                try:
                    self.renew_leases()
                    self.reap()
                except Exception:  # keep reaping: the store may come back
                    log.exception("the reaper could not read the queue")
                if self._stop.wait(every):
                    return

        thread = threading.Thread(target=loop, name="mlbot-reaper", daemon=True)
        thread.start()
        return thread

    # --- observing --------------------------------------------------------------------------

    def counts(self) -> dict[State, int]:
        """How many deliveries are in each state."""
        return self.store.counts()

    def dead_letters(self, limit: int = 50) -> list[DeadLetter]:
        """The most recent dead deliveries with their last error."""
        return self.store.dead_letters(limit)

    def state(self, delivery_id: str) -> tuple[State, int, str] | None:
        """The state, attempts and last error of one delivery."""
        return self.store.state(delivery_id)

    def ping(self) -> None:
        """Raise when the store cannot be read (a point lookup, cheap)."""
        self.store.state("mlbot-readiness-probe")

    def close(self) -> None:
        """Stop the reaper and release connections."""
        self._stop.set()
        self.store.close()


def open_queue(url: str, *, name: str = "mlbot", lease_seconds: float = 300.0, max_attempts: int = 5,
               retry_delay: float = 2.0) -> DurableQueue:
    """Open the queue at `sqlite:///path` or `redis://…` (the huey storage and our record)."""
    store: DeliveryStore
    if url.startswith("sqlite:///"):
        from bot.adapters.queue.sqlite_store import SqliteDeliveries

        path = Path(url[len("sqlite:///"):])
        sqlite = SqliteDeliveries(path)
        huey = Huey(name, results=False, storage_class=_SqliteHints, filename=str(path))  # same file
        queue = DurableQueue(sqlite, huey, lease_seconds=lease_seconds, max_attempts=max_attempts,
                             retry_delay=retry_delay)
        hints: _SqliteHints = huey.storage
        sqlite.on_insert = lambda db, ids: hints.insert(db, queue.messages(ids))
        queue.dispatched_on_accept = True
        return queue
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from bot.adapters.queue.redis_store import RedisDeliveries

        store = RedisDeliveries(url, prefix=f"{name}:deliveries")
        huey = Huey(name, results=False, storage_class=_RedisHints, url=url)
    else:
        raise UsageError(f"MLBOT_QUEUE_URL {url!r} is not a queue address I know",
                         hint="use sqlite:///path/to/queue.db or redis://host:6379/0")
    return DurableQueue(store, huey, lease_seconds=lease_seconds, max_attempts=max_attempts,
                        retry_delay=retry_delay)
