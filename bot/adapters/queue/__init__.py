"""The durable queue: every accepted delivery is stored before the 202 and processed once.

Huey carries the work (its consumer threads, its schedule for retries, SQLite or Redis storage);
our own deliveries record (`DeliveryStore`) carries the truth: a UNIQUE delivery id for dedupe,
and the states queued → running → done | retrying | failed | dead.

Three kinds of failure, three fates: a `Transient` error (GitHub or MLflow unavailable) waits in
`retrying` with exponential backoff and jitter, honouring the dependency's `retry_after`, until
`retry_for` seconds after the first such failure, then goes dead; any other `MlbotError` is
permanent and fails at once; anything unexpected is retried `max_attempts` times, then dead.
Retry hooks (`RetryHooks`) let the handlers say so on GitHub; `requeue` puts a given-up one back.

Huey removes a message before running it, so a worker killed mid-job would lose it; instead
every running delivery holds a lease and the reaper re-dispatches deliveries whose lease expired
(live workers keep renewing theirs), or whose retry time came; a delivery whose worker process on
this machine is gone is taken back at once (`reclaim_orphans`). A huey message is only a hint:
claiming the delivery is atomic, so duplicate messages are harmless.
On SQLite the messages are written in the same transaction as the deliveries they run.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from huey.api import Huey
from huey.consumer import Consumer
from huey.storage import RedisStorage, SqliteStorage

from bot.adapters.process import dead_here, here
from bot.adapters.queue.model import GIVEN_UP, DeadLetter, Delivery, DeliveryStore, State, Status
from bot.core.errors import MlbotError, Transient, UsageError
from bot.core.redact import redact

__all__ = ["DeadLetter", "Delivery", "DurableQueue", "Outcome", "RetryHooks", "Status", "open_queue"]

log = logging.getLogger("mlbot.queue")

Processor = Callable[[Delivery], None]
# (done | failed | retry (unexpected error) | retrying (transient) | dead, delivery, seconds)
Outcome = Callable[[str, Delivery, float], None]


@runtime_checkable
class RetryHooks(Protocol):
    """What the processor is told about retries, to say so where people look (check runs, a comment).

    Both run after the queue recorded the new state, at most once per attempt, and their own
    failures are logged, never fatal (GitHub is often the thing that is down).
    """

    def on_retry(self, delivery: Delivery, error: Transient, at: float) -> None:
        """`delivery` failed transiently and runs again at `at` (seconds since the epoch)."""
        ...

    def on_give_up(self, delivery: Delivery, error: BaseException) -> None:
        """`delivery` failed for good (permanent error, retries exhausted); called once per failure."""
        ...


class _ThreadConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer without signal handlers: the host process (uvicorn) owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


class _ProcessConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer owning the process's signals; `on_stop` runs first (it cuts long trainings short)."""

    on_stop: Callable[[], object] = staticmethod(lambda: None)

    def _handle_signal(self, signum: int, frame: Any) -> None:
        self.on_stop()
        super()._handle_signal(signum, frame)


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
                 max_attempts: int = 5, retry_delay: float = 2.0, retry_for: float = 3600.0,
                 retry_max_delay: float = 300.0, clock: Callable[[], float] = time.time) -> None:
        self.store, self.huey = store, huey
        self.lease_seconds, self.max_attempts, self.retry_delay = lease_seconds, max_attempts, retry_delay
        self.retry_for, self.retry_max_delay = retry_for, retry_max_delay
        self._clock = clock
        self._process: Processor | None = None
        self._observe: Outcome | None = None
        self._hooks: RetryHooks | None = None
        self._totals: dict[str, int] = {"retried": 0, "failed": 0, "dead": 0, "requeued": 0}
        self._task = huey.task(name="mlbot.run_delivery")(self._run)
        self.dispatched_on_accept = False
        self._stop = threading.Event()
        self._held: dict[str, int] = {}  # deliveries this process runs now → the attempt holding them
        self.holder = f"{here()}:{os.getpid()}"  # who runs a claimed delivery: a dead one's jobs are taken back
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

    def gave_up(self, key: str) -> bool:
        """Whether the delivery or job with this id ended failed or dead."""
        found = self.store.state(key)
        return found is not None and found[0] in ("failed", "dead")

    def attach(self, processor: Processor, observe: Outcome | None = None, hooks: RetryHooks | None = None) -> None:
        """Set what a worker does with a claimed delivery (raise to fail it).

        `hooks` default to the processor itself when it has `on_retry` and `on_give_up`.
        """
        self._process, self._observe = processor, observe
        self._hooks = hooks if hooks is not None else (processor if isinstance(processor, RetryHooks) else None)

    def run_one(self, delivery_id: str) -> State | None:
        """Claim and process one delivery now; the state it ended in (None: not claimable)."""
        return self._run(delivery_id)

    def _run(self, delivery_id: str) -> State | None:
        if self._process is None:
            raise RuntimeError("this queue has no processor attached; run `mlbot worker`")
        now = self._clock()
        delivery = self.store.claim(delivery_id, now, now + self.lease_seconds, self.holder)
        if delivery is None:
            return None  # done already, or running under a live lease elsewhere
        if delivery.attempts - delivery.retries > self.max_attempts:
            stopped = MlbotError(f"gave up: its worker stopped {delivery.attempts - delivery.retries - 1} "
                                 "times while running it")
            return self._settle(delivery, "dead", stopped.message, time.perf_counter(), cause=stopped)
        started = time.perf_counter()
        with self._held_lock:
            self._held[delivery.id] = delivery.attempts
        try:
            self._process(delivery)
        except Transient as error:
            return self._retry_later(delivery, error, started)
        except MlbotError as error:
            log.warning("delivery %s (%s) failed: %s", delivery.id, delivery.event, error)
            return self._settle(delivery, "failed", str(error), started, cause=error)
        except Exception as error:
            log.exception("delivery %s (%s) raised unexpectedly (attempt %d of %d)", delivery.id,
                          delivery.event, delivery.attempts - delivery.retries, self.max_attempts)
            reason = f"{type(error).__name__}: {error}"
            if delivery.attempts - delivery.retries >= self.max_attempts:
                return self._settle(delivery, "dead", reason, started, cause=error)
            delay = self.retry_delay * 2 ** (delivery.attempts - delivery.retries - 1)
            state = self._settle(delivery, "queued", reason, started, delay=delay)
            self._task.schedule(args=(delivery.id,), delay=delay)
            return state
        return self._settle(delivery, "done", "", started)

    def backoff(self, retries: int, retry_after: float | None) -> float:
        """The wait before transient retry `retries + 1`: doubling, capped, jittered, at least `retry_after`."""
        ceiling = min(self.retry_max_delay, self.retry_delay * 2.0 ** retries)
        return max(ceiling * (0.5 + random.random() / 2), retry_after or 0.0)

    def _retry_later(self, delivery: Delivery, error: Transient, started: float) -> State:
        now = self._clock()
        since = delivery.retry_since or now
        left = since + self.retry_for - now
        if left <= 0:
            reason = (f"gave up after {_duration(now - since)} of retries: {error.dependency} is still "
                      f"unavailable: {error}")
            log.warning("delivery %s (%s): %s", delivery.id, delivery.event, reason)
            return self._settle(delivery, "dead", reason, started, cause=error)
        # The last try lands on the bound rather than past it.
        at = now + min(self.backoff(delivery.retries, error.retry_after), left)
        log.warning("delivery %s (%s): %s unavailable (%s); retrying at %s", delivery.id, delivery.event,
                    error.dependency, error, time.strftime("%H:%M:%S", time.localtime(at)))
        self._task.schedule(args=(delivery.id,), delay=at - now)  # the reaper also runs it once due
        return self._settle(delivery, "retrying", str(error), started, next_at=at, cause=error)

    def _settle(self, delivery: Delivery, state: State, error: str, started: float, *,
                delay: float = 0.0, next_at: float | None = None, cause: BaseException | None = None) -> State:
        with self._held_lock:
            self._held.pop(delivery.id, None)
        now = self._clock()
        due = next_at if next_at is not None else now + delay + self.lease_seconds
        kept = self.store.settle(delivery.id, delivery.attempts, state, error, now, due)
        if not kept:
            log.warning("delivery %s was taken over by another worker (its lease expired)", delivery.id)
        if self._observe:
            self._observe("retry" if state == "queued" else state, delivery, time.perf_counter() - started)
        if kept:  # only the worker whose outcome was recorded tells the hooks: once per attempt
            self._count(state)
            if state == "retrying" and isinstance(cause, Transient) and next_at is not None and self._hooks:
                retry_at = next_at
                self._tell("on_retry", lambda hooks: hooks.on_retry(delivery, cause, retry_at))
            if state in GIVEN_UP and self._hooks is not None:
                gave_up = cause if cause is not None else MlbotError(error)
                self._tell("on_give_up", lambda hooks: hooks.on_give_up(delivery, gave_up))
        return state

    def _count(self, state: State) -> None:
        name = {"retrying": "retried", "failed": "failed", "dead": "dead"}.get(state)
        if name is not None:
            with self._held_lock:
                self._totals[name] += 1

    def _tell(self, what: str, call: Callable[[RetryHooks], None]) -> None:
        assert self._hooks is not None
        try:
            call(self._hooks)
        except Exception:  # the hook talks to GitHub, which may be what is down
            log.exception("the %s hook failed", what)

    def renew_leases(self) -> int:
        """Extend the leases of the jobs this process is running (a live worker keeps its jobs)."""
        with self._held_lock:
            held = list(self._held.items())
        if held:
            self.store.renew(held, self._clock() + self.lease_seconds)
        return len(held)

    def reclaim_orphans(self) -> int:
        """Take back at once the running deliveries of processes of this machine that died (kill -9, OOM).

        Their leases would free them too, minutes later; a restarted worker need not wait for that.
        """
        now, ids = self._clock(), []
        for delivery_id, attempt, holder in self.store.running(f"{here()}:"):
            pid = holder.rpartition(":")[2]
            if pid.isdigit() and dead_here(here(), int(pid)) and self.store.expire(delivery_id, attempt, now):
                ids.append(delivery_id)
        if ids:
            log.warning("taking back %d deliveries whose worker process died: %s", len(ids), ", ".join(ids))
            self.dispatch(ids)
        return len(ids)

    def reap(self, limit: int = 500) -> int:
        """Re-dispatch deliveries whose lease or dispatch expired; how many were found."""
        now = self._clock()
        ids = self.store.due(now, limit)
        if ids:
            log.info("re-dispatching %d deliveries whose lease expired", len(ids))
            self.store.postpone(ids, now + self.lease_seconds)
            self.dispatch(ids)
        return len(ids)

    def consumer(self, workers: int = 2, *, in_thread: bool = True,
                 on_stop: Callable[[], object] | None = None) -> Consumer:
        """A huey consumer for this queue (threads); `in_thread` leaves signals to the host.

        Otherwise the consumer owns SIGTERM/SIGINT and calls `on_stop` first, so a long training is cut
        short and its job handed back to the queue instead of holding the shutdown.
        """
        kind = _ThreadConsumer if in_thread else _ProcessConsumer
        consumer = kind(self.huey, workers=workers, periodic=False, initial_delay=0.02, backoff=1.5,
                    max_delay=0.25, scheduler_interval=1, worker_type="thread", shutdown_timeout=10,
                    graceful_signal="TERM")  # what Docker and Kubernetes send; Ctrl-C stops at once
        if on_stop is not None:
            consumer.on_stop = on_stop
        return consumer

    def start_reaper(self, interval: float | None = None) -> threading.Thread:
        """Renew own leases and reap expired ones now, then every `interval` seconds until `close`.

        A job runs as long as it needs while its worker lives; only a dead worker's leases expire.
        """
        every = interval if interval is not None else max(0.2, min(10.0, self.lease_seconds / 4))

        def loop() -> None:
            while True:
                try:
                    self.renew_leases()
                    self.reclaim_orphans()
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

    def totals(self) -> dict[str, int]:
        """What this process counted since it started: retried (transient), failed, dead, requeued."""
        with self._held_lock:
            return dict(self._totals)

    def dead_letters(self, limit: int = 50) -> list[DeadLetter]:
        """The most recent failed and dead deliveries with their last error (`requeue` takes them)."""
        return self.store.listing(GIVEN_UP, limit)

    def retrying(self, limit: int = 50) -> list[DeadLetter]:
        """The deliveries waiting to retry, with their last error and next attempt time."""
        return self.store.listing(("retrying",), limit)

    def status(self, delivery_id: str) -> Status | None:
        """Where one delivery stands: state, attempts, last error, next attempt time."""
        return self.store.status(delivery_id)

    def requeue(self, delivery_id: str) -> bool:
        """Put a failed, dead or retrying delivery back in the queue now (fresh bounds); False otherwise."""
        if not self.store.requeue(delivery_id, self._clock()):
            return False
        with self._held_lock:
            self._totals["requeued"] += 1
        self.dispatch([delivery_id])
        return True

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
               retry_delay: float = 2.0, retry_for: float = 3600.0, retry_max_delay: float = 300.0) -> DurableQueue:
    """Open the queue at `sqlite:///path` or `redis://…` (the huey storage and our record)."""
    bounds: dict[str, Any] = {"lease_seconds": lease_seconds, "max_attempts": max_attempts,
                              "retry_delay": retry_delay, "retry_for": retry_for, "retry_max_delay": retry_max_delay}
    store: DeliveryStore
    if url.startswith("sqlite:///"):
        from bot.adapters.queue.sqlite_store import SqliteDeliveries

        path = Path(url[len("sqlite:///"):])
        sqlite = SqliteDeliveries(path)
        huey = Huey(name, results=False, storage_class=_SqliteHints, filename=str(path))  # same file
        queue = DurableQueue(sqlite, huey, **bounds)
        hints: _SqliteHints = huey.storage
        sqlite.on_insert = lambda db, ids: hints.insert(db, queue.messages(ids))
        queue.dispatched_on_accept = True
        return queue
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from bot.adapters.queue.redis_store import RedisDeliveries

        store = RedisDeliveries(url, prefix=f"{name}:deliveries")
        reach_redis(store, url)
        huey = Huey(name, results=False, storage_class=_RedisHints, url=url)
    else:
        raise UsageError(f"MLBOT_QUEUE_URL {url!r} is not a queue address I know",
                         hint="use sqlite:///path/to/queue.db or redis://host:6379/0")
    return DurableQueue(store, huey, **bounds)


def reach_redis(store: Any, url: str) -> None:
    """Ping the Redis server now, so an unreachable one is one sentence at start, not a crash later."""
    import redis

    try:
        store.client.ping()
    except redis.RedisError as error:
        where = redact(url)
        raise MlbotError(f"I could not reach Redis at {where} (MLBOT_QUEUE_URL): {error}",
                         hint="start Redis there, or point MLBOT_QUEUE_URL at a running one "
                              "(or at sqlite:///.mlbot/queue.db for one machine)") from None


def _duration(seconds: float) -> str:
    """`42 s`, `12 min`, `1.5 h`: how long retries went on, for a dead letter's reason."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"
