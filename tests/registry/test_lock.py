"""The per-model registry lock, exercised by two real processes sharing one MLflow store."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow.lock import LOCK_TAG, Holder, LeaseLost, ModelLock
from bot.adapters.process import here
from bot.core.errors import Transient

from .conftest import MODEL
from .lock_worker import COUNTER

ROOT = Path(__file__).resolve().parents[2]


def test_backend_lock_serializes_two_processes(client: MlflowClient, tracking_uri: str) -> None:
    # No local file lock here: only the backend protocol keeps the two writers apart.
    client.create_registered_model(MODEL)
    client.get_registered_model(MODEL)  # the store's migrations run before the workers race
    rounds, start_at = 5, time.time() + 4.0
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.registry.lock_worker", tracking_uri, MODEL,
                          str(rounds), str(start_at)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
    tags = client.get_registered_model(MODEL).tags
    assert tags[COUNTER] == str(2 * rounds)  # no increment was lost
    assert Holder.parse(tags[LOCK_TAG]).owner == ""  # type: ignore[union-attr]  # released
    assert Holder.parse(tags[LOCK_TAG]).token == 2 * rounds  # type: ignore[union-attr]  # one token per holder


def holder(client: MlflowClient) -> Holder:
    found = Holder.parse(client.get_registered_model(MODEL).tags.get(LOCK_TAG))
    assert found is not None
    return found


def test_an_expired_lease_is_taken_over_with_a_higher_token(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    client.set_registered_model_tag(MODEL, LOCK_TAG, Holder("crashed:1:x", time.time() - 1, token=7).dump())
    with ModelLock(client, MODEL, owner="me", settle=0.01, wait=1.0) as lock:
        assert (holder(client).owner, holder(client).token, lock.token) == ("me", 8, 8)
    assert (holder(client).owner, holder(client).token) == ("", 8)  # released; the token stays


def test_a_lease_of_a_dead_process_on_this_machine_is_taken_over_at_once(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    # Its lease has 10 minutes left, but the process that held it is gone.
    mine = Holder(f"host:{int(gone.stdout)}:dead", time.time() + 600, 3, here())
    client.set_registered_model_tag(MODEL, LOCK_TAG, mine.dump())
    with ModelLock(client, MODEL, owner="me", settle=0.01, wait=0.2) as lock:
        assert lock.token == mine.token + 1


def test_a_held_lease_refuses_after_the_wait_and_says_when_to_retry(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    client.set_registered_model_tag(MODEL, LOCK_TAG, Holder("busy:2:y", time.time() + 60).dump())
    with pytest.raises(Transient, match="held by busy:2:y") as raised, \
            ModelLock(client, MODEL, owner="me", settle=0.01, wait=0.05):
        pass
    assert raised.value.retry_after is not None and 55 < raised.value.retry_after <= 60
    # A waiter that gave up never removes someone else's lock.
    assert holder(client).owner == "busy:2:y"


def test_a_holder_whose_lease_passed_to_a_newer_holder_cannot_write(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    now = [1000.0]
    stale = ModelLock(client, MODEL, owner="stale", settle=0.0, ttl=10, clock=lambda: now[0], sleep=lambda s: None)
    stale.acquire()
    stale.check()  # fine while the lease holds
    now[0] += 11  # it stalled (a long GC pause, a stopped VM) past its lease
    newer = ModelLock(client, MODEL, owner="newer", settle=0.0, ttl=10, clock=lambda: now[0], sleep=lambda s: None)
    newer.acquire()
    assert newer.token == stale.token + 1
    with pytest.raises(LeaseLost, match=r"expired before I finished \(now held by newer, token 2\)"):
        stale.check()
    stale.release()  # releasing a lease that is not ours any more leaves the newer holder alone
    assert holder(client).owner == "newer"
    newer.check()


def test_an_expired_lease_is_refused_even_before_anyone_took_it(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    now = [1000.0]
    lock = ModelLock(client, MODEL, owner="slow", settle=0.0, ttl=10, clock=lambda: now[0], sleep=lambda s: None)
    lock.acquire()
    now[0] += 4
    lock.check()
    now[0] += 4  # past half of the lease: check renews it
    lock.check()
    assert holder(client).expires == now[0] + 10
    now[0] += 11
    with pytest.raises(LeaseLost):  # someone may be taking it over right now: never write after expiry
        lock.check()


def test_local_lock_refuses_a_second_holder_on_this_machine(client: MlflowClient, tmp_path: Path) -> None:
    client.create_registered_model(MODEL)
    with ModelLock(client, MODEL, settle=0.01, local_dir=tmp_path), pytest.raises(
            Transient, match="on this machine"), ModelLock(
                client, MODEL, settle=0.01, wait=0.05, local_dir=tmp_path):
        pass
