"""Locks shared by every worker of a deployment, kept where the queue is: `ports.Locks`.

SQLite queue: a row per held key in the queue's own file (one machine, any number of processes).
Redis queue: `SET key token NX PX lease`, released only by its holder (compare-and-delete).
A holder renews its lease while it works; one that dies frees the key when the lease lapses.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from bot.core.errors import MlbotError

WAIT = 120.0  # seconds a waiter tries before giving up (the job is then retried by the queue)
POLL = 0.05
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
          "else return 0 end")


class LockTimeout(MlbotError):
    """Another worker held the lock for longer than a waiter waits."""


class _Renewer:
    """Renew a held lease every third of it until stopped."""

    def __init__(self, renew: Any, lease: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(renew, lease), daemon=True, name="mlbot-lock")
        self._thread.start()

    def _run(self, renew: Any, lease: float) -> None:
        while not self._stop.wait(lease / 3):
            renew()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@contextmanager
def connected(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived autocommit connection to the queue's SQLite file (closed after the block)."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        yield db
    finally:
        db.close()


class SqliteLocks:
    """`ports.Locks` in a SQLite file (the queue's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS mlbot_locks (key TEXT PRIMARY KEY, token TEXT NOT NULL, "
                       "expires REAL NOT NULL)")

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return connected(self.path)

    def _try(self, key: str, token: str, lease: float) -> bool:
        now = time.time()
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT expires FROM mlbot_locks WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] > now:
                db.execute("ROLLBACK")
                return False
            db.execute("INSERT OR REPLACE INTO mlbot_locks (key, token, expires) VALUES (?, ?, ?)",
                       (key, token, now + lease))
            db.execute("COMMIT")
            return True

    def _renew(self, key: str, token: str, lease: float) -> None:
        with self._db() as db:
            db.execute("UPDATE mlbot_locks SET expires = ? WHERE key = ? AND token = ?",
                       (time.time() + lease, key, token))

    def _release(self, key: str, token: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM mlbot_locks WHERE key = ? AND token = ?", (key, token))

    @contextmanager
    def hold(self, key: str, *, lease: float) -> Iterator[None]:
        token = uuid.uuid4().hex
        _wait(lambda: self._try(key, token, lease), key)
        renewer = _Renewer(lambda: self._renew(key, token, lease), lease)
        try:
            yield
        finally:
            renewer.stop()
            self._release(key, token)


class RedisLocks:
    """`ports.Locks` on Redis (the queue's server)."""

    def __init__(self, url: str, prefix: str = "mlbot:lock:") -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    @contextmanager
    def hold(self, key: str, *, lease: float) -> Iterator[None]:
        name, token, millis = self.prefix + key, uuid.uuid4().hex, int(lease * 1000)
        _wait(lambda: bool(self.client.set(name, token, nx=True, px=millis)), key)
        renewer = _Renewer(lambda: self.client.eval(_RENEW, 1, name, token, millis), lease)
        try:
            yield
        finally:
            renewer.stop()
            self.client.eval(_RELEASE, 1, name, token)


def _wait(attempt: Any, key: str) -> None:
    deadline = time.monotonic() + WAIT
    while not attempt():
        if time.monotonic() > deadline:
            raise LockTimeout(f"another worker has held {key} for over {WAIT:g} s", hint="the job is retried later")
        time.sleep(POLL)


def open_locks(queue_url: str) -> SqliteLocks | RedisLocks:
    """The shared locks that go with the queue at `queue_url`."""
    if queue_url.startswith("sqlite:///"):
        return SqliteLocks(Path(queue_url[len("sqlite:///"):]))
    return RedisLocks(queue_url)
