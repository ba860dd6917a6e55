"""Serialize promotions and rollbacks of one model: a lease that expires, fenced by a token.

MLflow has no compare-and-set, so the backend lock follows Fischer's mutual exclusion: read the
registered-model tag `mlbot.lock`; when it is free write our owner, lease expiry and a fencing
token one above the last, wait `settle` seconds (much longer than one tag write takes), read it
back, and enter only if our write survived. Two writers that both saw the lock free cannot both
read their own owner back, as long as a tag write completes within `settle`.

The lock is a lease: a holder that crashed blocks others for at most `ttl` seconds — and not at
all when it ran on this machine and its process is gone. The holder renews the lease as it works
(`check`), and `check` runs before every registry write: once the lease expired, or a newer
holder (a higher token) took the lock, the old holder's next write is refused (`LeaseLost`), so
it cannot move the registry under the new holder. Releasing keeps the tag, with no owner, so
the next token is still one above the last.

A local `flock` on a file keyed by tracking URI and model queues processes of one machine
cheaply before they touch the backend.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from bot.adapters.process import dead_here, here
from bot.core.errors import Transient

LOCK_TAG = "mlbot.lock"
BUSY_HINT = "wait for that promotion or rollback to finish and run the command again"


class LeaseLost(Transient):
    """This holder's lease expired or a newer holder took the lock: it must not write any more."""


@dataclass(frozen=True)
class Holder:
    owner: str  # "" once released
    expires: float
    token: int = 0
    place: str = ""

    @classmethod
    def parse(cls, text: str | None) -> Holder | None:
        """Read a lock tag value; an unreadable value counts as no lock."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(owner=str(data["owner"]), expires=float(data["expires"]), token=int(data.get("token", 0)),
                       place=str(data.get("place", "")))
        except (ValueError, KeyError, TypeError):
            return None

    def dump(self) -> str:
        return json.dumps({"owner": self.owner, "expires": self.expires, "token": self.token, "place": self.place})

    def gone(self, now: float) -> bool:
        """Whether nobody holds the lock: released, expired, or held by a process of this machine that died."""
        if not self.owner or self.expires <= now:
            return True
        pid = self.owner.split(":")[1] if self.owner.count(":") >= 2 else ""
        return pid.isdigit() and dead_here(self.place, int(pid))


def new_owner() -> str:
    """A lock owner id that names the host and process, for whoever has to debug a stuck lock."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _busy(message: str, retry_after: float | None) -> Transient:
    return Transient(message, dependency="MLflow", retry_after=retry_after, hint=BUSY_HINT)


class LocalLock:
    """An exclusive `flock` on one file, acquired with a deadline."""

    def __init__(self, path: Path, *, wait: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.path = path
        self.wait = wait
        self._sleep = sleep
        self._file: IO[str] | None = None

    def acquire(self, what: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a")
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._file = handle
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    raise _busy(f"another promotion or rollback of {what} on this machine is still running",
                                None) from None
                self._sleep(0.02)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class ModelLock:
    """Hold the per-model lease for the duration of a `with` block; `check()` before each write."""

    def __init__(
        self,
        client: Any,
        model: str,
        *,
        owner: str | None = None,
        ttl: float = 30.0,
        wait: float = 60.0,
        settle: float = 0.25,
        local_dir: Path | None = None,
        tracking_uri: str = "",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.model = model
        self.owner = owner or new_owner()
        self.ttl, self.wait, self.settle = ttl, wait, settle
        self.token = 0  # the fencing token of our lease, once held
        self._clock, self._sleep = clock, sleep
        self._local: LocalLock | None = None
        if local_dir is not None:
            key = hashlib.sha256(f"{tracking_uri}\n{model}".encode()).hexdigest()[:16]
            self._local = LocalLock(local_dir / f"{key}.lock", wait=wait, sleep=sleep)

    def _read(self) -> Holder | None:
        tags: dict[str, str] = self.client.get_registered_model(self.model).tags or {}
        return Holder.parse(tags.get(LOCK_TAG))

    def _write(self, holder: Holder) -> bool:
        try:
            self.client.set_registered_model_tag(self.model, LOCK_TAG, holder.dump())
        except Exception:
            # Two first writes of the tag race on its unique key and one fails: that writer lost this
            # round. A backend that is really down fails the next read, which is not caught.
            return False
        return True

    def acquire(self) -> None:
        """Wait (bounded) until this owner holds the lease; refuse when another keeps it."""
        if self._local is not None:
            self._local.acquire(self.model)
        try:
            self._acquire_backend()
        except BaseException:
            if self._local is not None:
                self._local.release()
            raise

    def _acquire_backend(self) -> None:
        deadline = self._clock() + self.wait
        while True:
            holder = self._read()
            if holder is None or holder.gone(self._clock()) or holder.owner == self.owner:
                mine = Holder(self.owner, self._clock() + self.ttl, (holder.token if holder else 0) + 1, here())
                if self._write(mine):
                    self._sleep(self.settle)
                    holder = self._read()
                    if holder is not None and (holder.owner, holder.token) == (self.owner, mine.token):
                        self.token = mine.token
                        return
            if self._clock() >= deadline:
                who = holder.owner if holder and holder.owner else "another process"
                left = max(0.0, holder.expires - self._clock()) if holder else None
                raise _busy(f"the registry lock of {self.model} is held by {who}", left)
            # Jitter keeps two waiters from retrying in lock-step.
            self._sleep(self.settle * (0.5 + random.random()))

    def check(self) -> None:
        """Refuse to go on unless we still hold the lease (same owner and token); renew it when half used.

        Called before every registry write under the lock: the fence that keeps a holder whose lease
        expired from writing after a newer holder took over.
        """
        holder = self._read()
        now = self._clock()
        if holder is None or (holder.owner, holder.token) != (self.owner, self.token) or holder.expires <= now:
            newer = f" (now held by {holder.owner}, token {holder.token})" if holder and holder.owner else ""
            raise LeaseLost(f"my lease on the registry lock of {self.model} (token {self.token}) expired before "
                            f"I finished{newer}; I stopped writing", dependency="MLflow",
                            hint="the next promotion or rollback of this model completes what was started")
        # Renew only well before expiry: a lease that ran out may be taken over at any moment.
        if holder.expires - now < self.ttl / 2 and holder.expires - now > 4 * self.settle:
            self._write(Holder(self.owner, now + self.ttl, self.token, holder.place))

    def release(self) -> None:
        """Drop the lease if we still hold it; the token stays in the tag for the next holder."""
        try:
            holder = self._read()
            if holder is not None and (holder.owner, holder.token) == (self.owner, self.token):
                self._write(Holder("", 0.0, self.token, ""))
        finally:
            if self._local is not None:
                self._local.release()

    def __enter__(self) -> ModelLock:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
