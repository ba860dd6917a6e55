"""Deliveries in SQLite (WAL): a UNIQUE delivery id dedupes across processes and threads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.queue.model import STATES, DeadLetter, Delivery, State

SCHEMA = """
CREATE TABLE IF NOT EXISTS mlbot_deliveries (
  id TEXT PRIMARY KEY,
  event TEXT NOT NULL,
  body BLOB NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease REAL NOT NULL DEFAULT 0,
  due REAL NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  received REAL NOT NULL,
  updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS mlbot_deliveries_due ON mlbot_deliveries(state, due);
"""


class SqliteDeliveries:
    """`DeliveryStore` on a SQLite file; one connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        db = self._db()
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (the contract of a
            # 202); only an OS crash or power loss can lose the last transactions.
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
            with self._lock:
                self._all.append(db)
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def accept(self, deliveries: Sequence[Delivery], now: float, due: float) -> list[bool]:
        """Store new deliveries in one transaction; False for ids already stored."""
        with self._tx() as db:
            return [
                db.execute(
                    "INSERT OR IGNORE INTO mlbot_deliveries (id, event, body, state, due, received, updated)"
                    " VALUES (?, ?, ?, 'queued', ?, ?, ?)",
                    (d.id, d.event, d.body, due, d.received_at or now, now),
                ).rowcount == 1
                for d in deliveries
            ]

    def claim(self, delivery_id: str, now: float, lease_until: float) -> Delivery | None:
        """Mark the delivery running unless it is done, dead or held by a live lease."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE mlbot_deliveries SET state='running', attempts=attempts+1, lease=?, due=?,"
                " updated=? WHERE id=? AND (state='queued' OR (state='running' AND lease<?))"
                " RETURNING event, body, received, attempts",
                (lease_until, lease_until, now, delivery_id, now),
            ).fetchone()
        if row is None:
            return None
        return Delivery(delivery_id, row[0], bytes(row[1]), row[2], row[3])

    def settle(self, delivery_id: str, attempt: int, state: State, error: str, now: float,
               due: float) -> bool:
        """Move a running delivery still held by `attempt` to `state`."""
        with self._tx() as db:
            return db.execute(
                "UPDATE mlbot_deliveries SET state=?, error=?, updated=?, due=?, lease=0"
                " WHERE id=? AND state='running' AND attempts=?",
                (state, error, now, due, delivery_id, attempt),
            ).rowcount == 1

    def due(self, now: float, limit: int) -> list[str]:
        """Ids of queued/running deliveries past their due time."""
        rows = self._db().execute(
            "SELECT id FROM mlbot_deliveries WHERE state IN ('queued', 'running') AND due<?"
            " ORDER BY due LIMIT ?", (now, limit)).fetchall()
        return [r[0] for r in rows]

    def postpone(self, delivery_ids: Sequence[str], due: float) -> None:
        """Set the reaper's next look at these deliveries."""
        with self._tx() as db:
            db.executemany("UPDATE mlbot_deliveries SET due=? WHERE id=?", [(due, i) for i in delivery_ids])

    def state(self, delivery_id: str) -> tuple[State, int, str] | None:
        """The state, attempts and last error of one delivery."""
        row = self._db().execute("SELECT state, attempts, error FROM mlbot_deliveries WHERE id=?",
                                 (delivery_id,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def counts(self) -> dict[State, int]:
        """How many deliveries are in each state."""
        found = dict(self._db().execute(
            "SELECT state, COUNT(*) FROM mlbot_deliveries GROUP BY state").fetchall())
        return {s: int(found.get(s, 0)) for s in STATES}

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        """The most recent dead deliveries."""
        rows = self._db().execute(
            "SELECT id, event, attempts, error, updated FROM mlbot_deliveries WHERE state='dead'"
            " ORDER BY updated DESC LIMIT ?", (limit,)).fetchall()
        return [DeadLetter(*r) for r in rows]

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
