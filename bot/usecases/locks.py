"""Mutual exclusion for decisions: one report writer per pull request, one promotion per repository.

The context's `locks` port serializes across processes when the deployment provides one (see
`ports.Locks`); without it, a process-local lock per key still orders this process's workers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bot.ports import Context

_guard = threading.Lock()


@contextmanager
def holding(ctx: Context, key: str, *, lease: float = 120.0) -> Iterator[None]:
    """Hold `key` in this process and, when the context has a shared lock port, across processes."""
    with _guard:  # the context's own locks: two bots in one process (tests, the demo) never share one
        local = ctx.local_locks.setdefault(key, threading.Lock())
    with local:
        if ctx.locks is None:
            yield
        else:
            with ctx.locks.hold(key, lease=lease):
                yield


def pull_key(repo: str, number: int) -> str:
    return f"pull:{repo.lower()}#{number}"


def repo_key(repo: str) -> str:
    return f"repo:{repo.lower()}"
