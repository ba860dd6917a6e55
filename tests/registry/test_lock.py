"""The per-model registry lock, exercised by two real processes sharing one MLflow store."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow.lock import LOCK_TAG, Holder, ModelLock
from bot.core.errors import PromotionRefused

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
    assert LOCK_TAG not in tags  # released


def test_an_expired_lock_is_taken_over(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    client.set_registered_model_tag(MODEL, LOCK_TAG, Holder("crashed:1:x", time.time() - 1).dump())
    with ModelLock(client, MODEL, owner="me", settle=0.01, wait=1.0):
        assert Holder.parse(client.get_registered_model(MODEL).tags[LOCK_TAG]).owner == "me"  # type: ignore[union-attr]
    assert LOCK_TAG not in client.get_registered_model(MODEL).tags


def test_a_held_lock_refuses_after_the_wait(client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    client.set_registered_model_tag(MODEL, LOCK_TAG, Holder("busy:2:y", time.time() + 60).dump())
    with pytest.raises(PromotionRefused, match="held by busy:2:y"), \
            ModelLock(client, MODEL, owner="me", settle=0.01, wait=0.05):
        pass
    # A waiter that gave up never removes someone else's lock.
    assert Holder.parse(client.get_registered_model(MODEL).tags[LOCK_TAG]).owner == "busy:2:y"  # type: ignore[union-attr]


def test_local_lock_refuses_a_second_holder_on_this_machine(client: MlflowClient, tmp_path: Path) -> None:
    client.create_registered_model(MODEL)
    with ModelLock(client, MODEL, settle=0.01, local_dir=tmp_path), pytest.raises(
            PromotionRefused, match="on this machine"), ModelLock(
                client, MODEL, settle=0.01, wait=0.05, local_dir=tmp_path):
        pass
