"""An http:// MLflow tracking server works like the SQLite default (the cache probe uses its REST API)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.mlflow.probe import probe
from bot.adapters.mlflow.runs import RunStore

from .conftest import Cli, copy_example, free_port

START_DEADLINE_S = 90



def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A lean `mlflow server` (one worker, no job runner) on a free port, stopped with its children."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while not _healthy(url):
            assert process.poll() is None, "mlflow server exited while starting"
            assert time.monotonic() < deadline, "mlflow server did not become healthy in time"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.slow
def test_training_against_a_tracking_server(cli: Cli, server: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    monkeypatch.chdir(tmp_path)
    project = copy_example("breast-cancer", tmp_path / "repo")
    first = cli("train", "--project", str(project), "--param", "n_estimators=5", "--sha", "d" * 40)
    assert first.code == 0, first.err
    store = RunStore(server)
    record = store.load_run_record(first.run_id)
    assert record.tags["mlbot.status"] == "finished" and "roc_auc" in record.metrics
    assert len(store.load_predictions(first.run_id)) == 114

    found = probe(server, "breast-cancer", record.tags["mlbot.cache_key"], "breast-cancer", "production")
    assert found is not None and found.run_id == first.run_id and found.baseline_version is None
    again = cli("train", "--project", str(project), "--param", "n_estimators=5", "--sha", "e" * 40)
    assert again.code == 0 and again.run_id == first.run_id and "reused run" in again.out
