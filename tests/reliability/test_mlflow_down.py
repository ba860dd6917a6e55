"""MLflow out of reach is a Transient failure (the queue retries the job), not a permanent one."""

from __future__ import annotations

import socket

import pytest
from mlflow import MlflowClient

from bot.adapters.mlflow import is_unavailable
from bot.adapters.mlflow.tracker import MlflowTracker
from bot.core.errors import Transient
from bot.ports import Tracker
from tests.registry.conftest import MODEL, LogRun


def free_port() -> int:
    with socket.socket() as probe:  # nobody listens there once the probe closes
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_tracking_server_is_transient() -> None:
    tracker = MlflowTracker(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(Transient, match="is unreachable") as raised:
        tracker.production_version("churn")
    assert raised.value.dependency == "MLflow"


@pytest.mark.parametrize(("error", "transient"), [
    (ConnectionRefusedError("refused"), True),
    (TimeoutError("slow"), True),
    (type("OperationalError", (Exception,), {})("database is locked"), True),
    (Exception("API request to endpoint /api/2.0/mlflow/runs/get failed with error code 503 != 200"), True),
    (ValueError("bad run id"), False),
    (Exception("API request to endpoint /x failed with error code 404 != 200"), False),
])
def test_which_failures_count_as_mlflow_being_unavailable(error: Exception, transient: bool) -> None:
    assert is_unavailable(error) is transient


def test_recover_at_worker_start_looks_at_every_model(client: MlflowClient, tracking_uri: str,
                                                      log_run: LogRun) -> None:
    tracker: Tracker = MlflowTracker(tracking_uri)
    run = log_run("1" * 40)
    promoted = tracker.promote(MODEL, run, by="alice", effects=("comment",), details={"repo": "acme/churn"})
    assert promoted.intent is not None and promoted.intent.pending == ["comment"]
    client.create_registered_model("untouched")
    [owed] = tracker.recover()  # the worker does not know the model names: it asks for all
    assert (owed.model, owed.seq, owed.pending) == (MODEL, 1, ["comment"])
    tracker.mark_done(MODEL, owed.seq, "deployment")  # never asked for: no mark that could outlive it
    tracker.mark_done(MODEL, owed.seq, "comment")
    assert tracker.recover() == []
    assert not [k for k in client.get_registered_model(MODEL).tags if k.startswith("mlbot.intent.")]
