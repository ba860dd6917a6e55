"""A promotion whose lease passed to a newer holder stops writing; the newer holder settles what it left."""

from __future__ import annotations

import time

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow import journal
from bot.adapters.mlflow.lock import LOCK_TAG, Holder, LeaseLost
from bot.adapters.mlflow.registry import Registry
from tests.registry.conftest import MODEL, LogRun


def test_a_stale_holder_is_refused_before_its_next_write(client: MlflowClient, tracking_uri: str,
                                                         log_run: LogRun) -> None:
    first = log_run("1" * 40)
    candidate = log_run("2" * 40, baseline="1")

    def stall(step: str) -> None:
        if step == "intent":  # the holder stalls here; its lease runs out and another process takes it
            token = Holder.parse(client.get_registered_model(MODEL).tags[LOCK_TAG]).token  # type: ignore[union-attr]
            client.set_registered_model_tag(MODEL, LOCK_TAG, Holder("newer:1:x", time.time() + 30, token + 1).dump())

    Registry(client, tracking_uri=tracking_uri, lock_settle=0.01).promote(MODEL, first, by="alice")
    stale = Registry(client, tracking_uri=tracking_uri, lock_settle=0.01, step_hook=stall)
    with pytest.raises(LeaseLost, match=r"now held by newer:1:x"):
        stale.promote(MODEL, candidate, by="bob")
    registered = client.get_registered_model(MODEL)
    assert str(registered.aliases["production"]) == "1"  # the fence stopped it before the alias moved
    assert [i.version for i in journal.read(MODEL, registered.tags)] == ["2"]  # what it meant to do

    # The newer holder finishes and releases; the next move drops the intent whose alias never moved.
    client.set_registered_model_tag(MODEL, LOCK_TAG, Holder("", 0.0, 99).dump())
    fresh = Registry(client, tracking_uri=tracking_uri, lock_settle=0.01)
    assert fresh.recover(MODEL) == []
    assert journal.read(MODEL, client.get_registered_model(MODEL).tags) == []
    moved = fresh.promote(MODEL, candidate, by="bob")
    assert (moved.version, moved.previous, moved.entry.seq if moved.entry else None) == ("2", "1", 2)
    assert Holder.parse(client.get_registered_model(MODEL).tags[LOCK_TAG]).token == 101  # type: ignore[union-attr]
