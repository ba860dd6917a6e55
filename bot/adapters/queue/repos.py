"""The repositories the bot has worked for, and since when: what the reconciler looks after.

Kept where the queue is (the SQLite file, or Redis), so every worker and every restart sees it.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path

from bot.adapters.queue.locks import connected


class SqliteRepositories:
    """`ports.Repositories` in the queue's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS mlbot_repositories (repo TEXT PRIMARY KEY, since REAL NOT NULL)")

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return connected(self.path)

    def add(self, repo: str) -> None:
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO mlbot_repositories (repo, since) VALUES (?, ?)",
                       (repo.lower(), time.time()))

    def since(self) -> dict[str, float]:
        with self._db() as db:
            return {repo: since for repo, since in db.execute("SELECT repo, since FROM mlbot_repositories")}


class RedisRepositories:
    """`ports.Repositories` in a Redis hash (repo → first seen)."""

    def __init__(self, url: str, key: str = "mlbot:repositories") -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.key = key

    def add(self, repo: str) -> None:
        self.client.hsetnx(self.key, repo.lower(), str(time.time()))

    def since(self) -> dict[str, float]:
        raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        return {k.decode(): float(v) for k, v in raw.items()}


def open_repositories(queue_url: str) -> SqliteRepositories | RedisRepositories:
    """The repository book that goes with the queue at `queue_url`."""
    if queue_url.startswith("sqlite:///"):
        return SqliteRepositories(Path(queue_url[len("sqlite:///"):]))
    return RedisRepositories(queue_url)
