"""Deliveries in SQLite (WAL): a UNIQUE delivery id dedupes across processes and threads."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bot.adapters.queue.model import STATES, DeadLetter, Delivery, State, Status

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
  updated REAL NOT NULL,
  retries INTEGER NOT NULL DEFAULT 0,
  retry_since REAL NOT NULL DEFAULT 0,
  holder TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS mlbot_deliveries_due ON mlbot_deliveries(state, due);
"""


class SqliteDeliveries:
    """`DeliveryStore` on a SQLite file; one connection per thread."""

    def __init__(self, path: Path, *, checkpoint_every: float = 1.0) -> None:
        self.path = path
        # Called inside the accept transaction with the ids it stored: the queue writes huey's
        # messages there too, so a delivery and its dispatch commit together (one commit a batch).
        self.on_insert: Callable[[sqlite3.Connection, list[str]], None] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._checkpoint_every = checkpoint_every
        self._checkpointer: threading.Thread | None = None
        db = self._db()
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        columns = {row[1] for row in db.execute("PRAGMA table_info(mlbot_deliveries)")}
        added = (("retries", "INTEGER", "0"), ("retry_since", "REAL", "0"), ("holder", "TEXT", "''"))
        for column, kind, default in added:  # a queue file made before these existed
            if column not in columns:
                db.execute(f"ALTER TABLE mlbot_deliveries ADD COLUMN {column} {kind} NOT NULL DEFAULT {default}")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (the contract of a
            # 202); only an OS crash or power loss can lose the last transactions.
            db.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints (copying the WAL into the database, with an fsync) would otherwise run
            # inside whichever commit crosses the threshold and stall that batch of 202s for tens
            # of milliseconds; a background thread does them instead.
            db.execute("PRAGMA wal_autocheckpoint=0")
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

    def _checkpoint_loop(self) -> None:
        while not self._closed.wait(self._checkpoint_every):
            try:
                self._db().execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # busy or closing: the next round catches up
                continue

    def accept(self, deliveries: Sequence[Delivery], now: float, due: float) -> list[bool]:
        """Store new deliveries in one transaction; False for ids already stored."""
        if self._checkpointer is None:
            self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="mlbot-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()
        # A handful of statements per batch, not one per delivery: each sqlite3 call gives up the
        # GIL, and on a busy server getting it back from the event loop thread is the real cost.
        fresh: dict[str, Delivery] = {}
        for d in deliveries:
            fresh.setdefault(d.id, d)
        with self._tx() as db:
            marks = ",".join("?" * len(fresh))
            known = {row[0] for row in db.execute(
                f"SELECT id FROM mlbot_deliveries WHERE id IN ({marks})", list(fresh))}
            new = [d for i, d in fresh.items() if i not in known]
            if new:
                db.execute(
                    "INSERT INTO mlbot_deliveries (id, event, body, state, due, received, updated) VALUES "
                    + ",".join(["(?, ?, ?, 'queued', ?, ?, ?)"] * len(new)),
                    [v for d in new for v in (d.id, d.event, d.body, due, d.received_at or now, now)])
                if self.on_insert is not None:
                    self.on_insert(db, [d.id for d in new])
        inserted = {d.id for d in new}
        return [d.id in inserted and fresh[d.id] is d for d in deliveries]

    def claim(self, delivery_id: str, now: float, lease_until: float, holder: str = "") -> Delivery | None:
        """Mark the delivery running (by `holder`) unless it is done, dead or held by a live lease."""
        with self._tx() as db:
            row = db.execute(
                "UPDATE mlbot_deliveries SET state='running', attempts=attempts+1, lease=?, due=?, holder=?,"
                " updated=? WHERE id=? AND (state IN ('queued', 'retrying') OR (state='running' AND lease<?))"
                " RETURNING event, body, received, attempts, retries, retry_since",
                (lease_until, lease_until, holder, now, delivery_id, now),
            ).fetchone()
        if row is None:
            return None
        return Delivery(delivery_id, row[0], bytes(row[1]), row[2], row[3], row[4], row[5])

    def settle(self, delivery_id: str, attempt: int, state: State, error: str, now: float,
               due: float) -> bool:
        """Move a running delivery still held by `attempt` to `state`."""
        with self._tx() as db:
            return db.execute(
                # A done delivery keeps its id (dedupe) and outcome, not its 25 KB body; a failed one
                # keeps its body so `mlbot worker --requeue` can run it again.
                "UPDATE mlbot_deliveries SET state=?, error=?, updated=?, due=?, lease=0,"
                " body=CASE WHEN ?='done' THEN X'' ELSE body END,"
                " retries=retries+(?='retrying'),"
                " retry_since=CASE WHEN ?='retrying' AND retry_since=0 THEN ? ELSE retry_since END"
                " WHERE id=? AND state='running' AND attempts=?",
                (state, error, now, due, state, state, state, now, delivery_id, attempt),
            ).rowcount == 1

    def running(self, holder_prefix: str) -> list[tuple[str, int, str]]:
        """(id, attempt, holder) of the running deliveries whose holder starts with `holder_prefix`."""
        rows = self._db().execute(
            "SELECT id, attempts, holder FROM mlbot_deliveries WHERE state='running' AND substr(holder, 1, ?)=?",
            (len(holder_prefix), holder_prefix)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def expire(self, delivery_id: str, attempt: int, now: float) -> bool:
        """End the lease of a running delivery still held by `attempt` (its holder died): claimable now."""
        with self._tx() as db:
            return db.execute("UPDATE mlbot_deliveries SET lease=0, due=? WHERE id=? AND state='running'"
                              " AND attempts=?", (now, delivery_id, attempt)).rowcount == 1

    def requeue(self, delivery_id: str, now: float) -> bool:
        """Put a failed, dead or retrying delivery back in the queue now, with fresh bounds; False otherwise."""
        with self._tx() as db:
            return db.execute(
                "UPDATE mlbot_deliveries SET state='queued', retries=attempts, retry_since=0, due=?,"
                " updated=? WHERE id=? AND state IN ('failed', 'dead', 'retrying') AND length(body) > 0",
                (now, now, delivery_id)).rowcount == 1

    def status(self, delivery_id: str) -> Status | None:
        """Where one delivery stands, or None when unknown."""
        row = self._db().execute("SELECT state, attempts, error, due, retries, retry_since FROM mlbot_deliveries"
                                 " WHERE id=?", (delivery_id,)).fetchone()
        return Status(*row) if row else None

    def listing(self, states: Sequence[State], limit: int) -> list[DeadLetter]:
        """Deliveries in these states, most recently changed first."""
        marks = ",".join("?" * len(states))
        rows = self._db().execute(
            "SELECT id, event, attempts, error, updated, state, due FROM mlbot_deliveries"
            f" WHERE state IN ({marks}) ORDER BY updated DESC LIMIT ?", (*states, limit)).fetchall()
        return [DeadLetter(*r) for r in rows]

    def renew(self, held: Sequence[tuple[str, int]], lease_until: float) -> None:
        """Extend the leases of running deliveries still held by these (id, attempt) pairs."""
        with self._tx() as db:
            db.executemany("UPDATE mlbot_deliveries SET lease=?, due=? WHERE id=? AND state='running'"
                           " AND attempts=?", [(lease_until, lease_until, i, a) for i, a in held])

    def due(self, now: float, limit: int) -> list[str]:
        """Ids of queued/running deliveries past their due time."""
        rows = self._db().execute(
            "SELECT id FROM mlbot_deliveries WHERE state IN ('queued', 'running', 'retrying') AND due<?"
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

    def close(self) -> None:
        """Stop checkpointing and close every thread's connection."""
        self._closed.set()
        if self._checkpointer is not None:
            self._checkpointer.join(5)
        with self._lock:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()
