"""Creates that happen once: what a create whose answer was lost made is found and reused, not made again.

GitHub sometimes does a write and the client never hears back (a 502 from a proxy, a timeout).
Each create names itself (`Attempt`: a nonce for its key — a check run's external id, a
deployment's `mlbot_key` — and the time before which it cannot have happened) and brings a
`find` that recognises what it made. Within one call, `call_with_retries` runs `find` before
trying again; when the call gives up unsure (`LostAnswer`), `Unsure` remembers the attempt under
the create's natural identity, so the job's next try of the same create reuses its key and looks
before creating.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from github import Github

from bot.adapters.github.retry import LostAnswer

T = TypeVar("T")
CLOCK_SKEW = 120.0  # seconds GitHub's clock may be behind ours when matching a lost create by time
KEPT = 256  # creates remembered as unsure, oldest forgotten first


@dataclass(frozen=True)
class Attempt:
    """One create's identity: a nonce for its key, and the time before which it cannot have happened."""

    nonce: str
    since: float


Plan = tuple[Callable[[Github], T], Callable[[Github], "T | None"]]  # (create, find)
Call = Callable[[Callable[[Github], T], Callable[[Github], "T | None"]], T]  # runs (once, find) with retries


class Unsure:
    """The creates that gave up not knowing whether GitHub did them, by their natural identity."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: dict[Hashable, Attempt] = {}

    def create(self, natural: Hashable, build: Callable[[Attempt], Plan[T]], call: Call[T], *,
               look_first: bool = False) -> T:
        """Run the create `build` plans through `call`, looking first when an earlier try was unsure."""
        with self._lock:
            earlier = self._attempts.get(natural)
        attempt = earlier or Attempt(uuid.uuid4().hex, time.time() - CLOCK_SKEW)
        create, find = build(attempt)

        def once(gh: Github) -> T:
            found = find(gh) if earlier is not None or look_first else None
            return found if found is not None else create(gh)
        try:
            result = call(once, find)
        except LostAnswer:
            with self._lock:
                self._attempts[natural] = attempt
                while len(self._attempts) > KEPT:
                    self._attempts.pop(next(iter(self._attempts)))
            raise
        if earlier is not None:
            with self._lock:
                self._attempts.pop(natural, None)
        return result


def timestamp(text: str) -> float:
    """Seconds since the epoch of GitHub's ISO 8601 time, 0 when unreadable."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0
