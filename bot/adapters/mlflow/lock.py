"""Serialize promotions and rollbacks of one model, across processes sharing one MLflow backend.

MLflow has no compare-and-set, so the backend lock follows Fischer's mutual exclusion: read the
registered-model tag `mlbot.lock`; when it is free (or expired) write our owner and expiry, wait
`settle` seconds (much longer than one tag write takes), read it back, and enter only if our write
survived. Two writers that both saw the lock free cannot both read their own owner back, as long
as a tag write completes within `settle`. A crashed holder blocks others for at most `ttl`.

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

from bot.core.errors import PromotionRefused

LOCK_TAG = "mlbot.lock"


@dataclass(frozen=True)
class Holder:
    owner: str
    expires: float

    @classmethod
    def parse(cls, text: str | None) -> Holder | None:
        """Read a lock tag value; an unreadable value counts as no lock."""
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(owner=str(data["owner"]), expires=float(data["expires"]))
        except (ValueError, KeyError, TypeError):
            return None

    def dump(self) -> str:
        return json.dumps({"owner": self.owner, "expires": self.expires})


def new_owner() -> str:
    """A lock owner id that names the host and process, for whoever has to debug a stuck lock."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
                    raise PromotionRefused(
                        f"another promotion or rollback of {what} on this machine is still running",
                        hint="wait for it to finish and run the command again",
                    ) from None
                self._sleep(0.02)

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class ModelLock:
    """Hold the per-model lock for the duration of a `with` block."""

    def __init__(
        self,
        client: Any,
        model: str,
        *,
        owner: str | None = None,
        ttl: float = 120.0,
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
        self._clock, self._sleep = clock, sleep
        self._local: LocalLock | None = None
        if local_dir is not None:
            key = hashlib.sha256(f"{tracking_uri}\n{model}".encode()).hexdigest()[:16]
            self._local = LocalLock(local_dir / f"{key}.lock", wait=wait, sleep=sleep)

    def _read(self) -> Holder | None:
        tags: dict[str, str] = self.client.get_registered_model(self.model).tags or {}
        return Holder.parse(tags.get(LOCK_TAG))

    def _write(self) -> bool:
        holder = Holder(self.owner, self._clock() + self.ttl)
        try:
            self.client.set_registered_model_tag(self.model, LOCK_TAG, holder.dump())
        except Exception:
            # Two first writes of the tag race on its unique key and one fails: that writer lost this
            # round. A backend that is really down fails the next read, which is not caught.
            return False
        return True

    def acquire(self) -> None:
        """Wait (bounded) until this owner holds the lock; refuse when another keeps it."""
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
            free = holder is None or holder.expires <= self._clock() or holder.owner == self.owner
            if free and self._write():
                self._sleep(self.settle)
                holder = self._read()
                if holder is not None and holder.owner == self.owner:
                    return
            if self._clock() >= deadline:
                who = holder.owner if holder else "another process"
                raise PromotionRefused(
                    f"the registry lock of {self.model} is held by {who}",
                    hint="wait for that promotion or rollback to finish and run the command again",
                )
            # Jitter keeps two waiters from retrying in lock-step.
            self._sleep(self.settle * (0.5 + random.random()))

    def release(self) -> None:
        """Drop the lock if we still hold it (an expired lock may have passed to someone else)."""
        try:
            holder = self._read()
            if holder is not None and holder.owner == self.owner:
                self.client.delete_registered_model_tag(self.model, LOCK_TAG)
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
