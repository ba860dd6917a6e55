"""Per-process memory of facts that cannot change: files at a commit, a check run's id, a PR's files at a head.

Everything kept here is keyed by something immutable (a commit sha, an id GitHub gave), so a hit is
never stale; it only saves GitHub calls. Bounded, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from bot.ports import Context

T = TypeVar("T")


class Memo:
    """A small thread-safe LRU map."""

    def __init__(self, size: int = 1024) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_guard = threading.Lock()


def memo_of(ctx: Context) -> Memo:
    """The context's memo, created on first use."""
    with _guard:
        if not isinstance(ctx.memo, Memo):
            ctx.memo = Memo()
        return ctx.memo


def remembered(ctx: Context, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per key in this process (None results are not kept)."""
    memo = memo_of(ctx)
    found = memo.get(key)
    if found is None:
        found = compute()
        if found is not None:
            memo.put(key, found)
    return found  # type: ignore[no-any-return]
