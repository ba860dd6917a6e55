"""The tracker's side of the production watch, on MLflow in SQLite: the `/snooze` and the latest watch."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow.runs import RunStore
from bot.adapters.mlflow.tracker import MlflowTracker
from bot.core.errors import NotFound, Transient
from bot.core.types import Snooze
from bot.core.watch_report import GateLine, TrendPoint, WatchSummary

MODEL, EXPERIMENT = "bc", "bc"


def summary(drift_share: float, *, healthy: bool = True, alias: str = "production", model: str = MODEL) -> WatchSummary:
    """A monitoring run's report as `mlbot watch` stores it (run id left empty, as before the run exists)."""
    gates = (GateLine("no feature drifted", "pass" if healthy else "fail", "block", True, "0 of 3 drifted",
                      ("mean radius: KS p=0.4",)),)
    return WatchSummary(model, alias, "1", "", "prod/day.csv", 400, healthy, drift_share, 3,
                        () if healthy else ("mean radius: KS p<0.001",), (), (), ("roc_auc: 0.97",), gates,
                        "roc_auc", 0.97, trend=(TrendPoint("12-01 06:00", 0.0, 0.98, True, "earlier"),))


def log_watch(tracking_uri: str, report: WatchSummary, *, started_ms: int, status: str = "finished") -> str:
    """A monitoring run of `report` (in the experiment named after its model), started at `started_ms`,
    finished (or not) as `mlbot watch` leaves it."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(report.model)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(report.model)
    tags = {"mlbot.trigger": "watch", "mlbot.model": report.model, "mlbot.watch_alias": report.alias,
            "mlbot.watch_healthy": str(report.healthy).lower(), "mlbot.status": "running"}
    run_id = str(client.create_run(experiment_id, start_time=started_ms, tags=tags).info.run_id)
    store = RunStore(tracking_uri)
    store.log_artifacts(run_id, {"watch/report.json": json.dumps(report.to_json()).encode()})
    if status != "running":
        store.finish_run(run_id, ok=status == "finished")
    return run_id


@pytest.fixture
def tracker(tracking_uri: str, tmp_path: Path) -> MlflowTracker:
    return MlflowTracker(tracking_uri, lock_dir=tmp_path / "locks")


def test_a_snooze_is_kept_on_the_registered_model_per_alias_and_cleared(tracker: MlflowTracker,
                                                                        client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    assert tracker.watch_snooze(MODEL, "production") is None
    until = time.time() + 3 * 86400
    tracker.snooze_watch(MODEL, "production", Snooze(until, "maya"))

    assert tracker.watch_snooze(MODEL, "production") == Snooze(until, "maya")
    assert tracker.watch_snooze(MODEL, "staging") is None  # another alias of the model is not snoozed
    tags = client.get_registered_model(MODEL).tags
    assert tags["mlbot.watch_snoozed_by.production"] == "maya"
    assert float(tags["mlbot.watch_snoozed_until.production"]) == until

    tracker.snooze_watch(MODEL, "production", Snooze(until + 60, "rey"))  # a second /snooze replaces the first
    assert tracker.watch_snooze(MODEL, "production") == Snooze(until + 60, "rey")
    tracker.snooze_watch(MODEL, "production", None)
    assert tracker.watch_snooze(MODEL, "production") is None
    assert not any(k.startswith("mlbot.watch_snoozed") for k in client.get_registered_model(MODEL).tags)
    tracker.snooze_watch(MODEL, "production", None)  # clearing twice is harmless


def test_an_ended_snooze_is_still_read_back(tracker: MlflowTracker, client: MlflowClient) -> None:
    client.create_registered_model(MODEL)
    tracker.snooze_watch(MODEL, "production", Snooze(1000.0, "maya"))
    assert tracker.watch_snooze(MODEL, "production") == Snooze(1000.0, "maya")  # whether it holds: the caller's call


def test_a_model_not_registered_has_no_snooze_and_cannot_be_snoozed(tracker: MlflowTracker) -> None:
    assert tracker.watch_snooze(MODEL, "production") is None
    with pytest.raises(NotFound) as refused:
        tracker.snooze_watch(MODEL, "production", Snooze(time.time() + 60, "maya"))
    assert "no registered model named bc" in refused.value.message and refused.value.hint


def test_the_latest_watch_is_the_newest_finished_monitoring_run(tracker: MlflowTracker, tracking_uri: str) -> None:
    assert tracker.latest_watch(EXPERIMENT, MODEL, "production") is None  # no experiment yet
    day = 86_400_000
    log_watch(tracking_uri, summary(0.0), started_ms=1_700_000_000_000)
    newest = log_watch(tracking_uri, summary(0.5, healthy=False), started_ms=1_700_000_000_000 + day)
    log_watch(tracking_uri, summary(0.9), started_ms=1_700_000_000_000 + 2 * day, status="failed")
    log_watch(tracking_uri, summary(0.8), started_ms=1_700_000_000_000 + 3 * day, status="running")
    log_watch(tracking_uri, summary(0.7, alias="staging"), started_ms=1_700_000_000_000 + 4 * day)

    found = tracker.latest_watch(EXPERIMENT, MODEL, "production")
    assert found is not None
    read, ran_at = found
    assert read == replace(summary(0.5, healthy=False), run_id=newest)  # the stored report, whole
    assert ran_at == (1_700_000_000_000 + day) / 1000
    staging = tracker.latest_watch(EXPERIMENT, MODEL, "staging")
    assert staging is not None and staging[0].drift_share == 0.7
    assert tracker.latest_watch(EXPERIMENT, "other-model", "production") is None


def test_a_store_not_created_yet_is_not_created_by_reading_it(tmp_path: Path) -> None:
    database = tmp_path / "nothing-yet" / "mlflow.db"
    tracker = MlflowTracker(f"sqlite:///{database}")
    assert tracker.latest_watch(EXPERIMENT, MODEL, "production") is None
    assert tracker.watch_snooze(MODEL, "production") is None
    with pytest.raises(NotFound):
        tracker.snooze_watch(MODEL, "production", None)
    assert not database.exists()


def test_mlflow_down_is_transient_for_every_watch_read_and_write() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    tracker = MlflowTracker(f"http://127.0.0.1:{port}")
    calls = [lambda: tracker.latest_watch(EXPERIMENT, MODEL, "production"),
             lambda: tracker.watch_snooze(MODEL, "production"),
             lambda: tracker.snooze_watch(MODEL, "production", Snooze(time.time() + 60, "maya"))]
    for call in calls:
        with pytest.raises(Transient) as down:
            call()
        assert down.value.dependency == "MLflow"
