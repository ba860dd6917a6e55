"""Locks shared across worker processes: one holder at a time, a dead holder frees the key after its lease."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from bot.adapters.queue.locks import RedisLocks, SqliteLocks, open_locks


def hold_and_record(url: str, log: Path, rounds: int) -> None:
    locks = open_locks(url)
    for _ in range(rounds):
        with locks.hold("pull:acme/churn#7", lease=5):
            with log.open("a") as f:
                f.write(f"in {os.getpid()}\n")
            time.sleep(0.01)
            with log.open("a") as f:
                f.write(f"out {os.getpid()}\n")


def die_holding(url: str, ready: Path) -> None:
    locks = open_locks(url)
    with locks.hold("pull:acme/churn#7", lease=1):
        ready.touch()
        os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(params=["sqlite", "redis"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'queue.db'}"


def test_holders_in_separate_processes_never_overlap(url: str, tmp_path: Path) -> None:
    log = tmp_path / "log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=hold_and_record, args=(url, log, 10)) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    lines = log.read_text().splitlines()
    assert len(lines) == 60
    assert all(a.startswith("in ") and b == "out " + a[3:] for a, b in zip(lines[::2], lines[1::2], strict=True))


def test_a_holder_killed_in_the_middle_frees_the_key_once_its_lease_lapses(url: str, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    proc = multiprocessing.get_context("spawn").Process(target=die_holding, args=(url, ready))
    proc.start()
    proc.join(30)
    assert ready.exists() and proc.exitcode == -signal.SIGKILL
    locks = open_locks(url)
    assert isinstance(locks, SqliteLocks | RedisLocks)
    with locks.hold("pull:acme/churn#7", lease=5):  # waits out the dead holder's 1 s lease, then gets it
        pass
