"""The scale-out store: training, the run-cache, promotion, rollback and the ledger on PostgreSQL.

SPEC §9: beyond one machine, MLflow's backend store is PostgreSQL. Runs when MLBOT_TEST_POSTGRES_URL
is set (`.ci/run` sets it); each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.mlflow.tracker import MlflowTracker
from bot.training.train import TrainRequest, train
from tests.conftest import EXAMPLES

SERVER = os.environ.get("MLBOT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(
    not SERVER, reason="MLBOT_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test): "
                       "the PostgreSQL store is untested")


@pytest.fixture
def postgres_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty database on the test server, as an MLflow tracking URI; artifacts in tmp_path."""
    import psycopg2

    assert SERVER is not None
    name = f"mlbot_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(SERVER)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    monkeypatch.chdir(tmp_path)  # MLflow's default artifact root is relative to the working directory
    # SQLAlchemy 2.1 picks psycopg 3 for a bare postgresql://; the dev extra ships psycopg2
    base = SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_train_cache_promote_and_roll_back_on_postgres(postgres_uri: str, tmp_path: Path) -> None:
    project = EXAMPLES / "breast-cancer"
    notes: list[str] = []
    first = train(TrainRequest(project, sha="a" * 40, pr=1, overrides={"n_estimators": 20}), postgres_uri,
                  notes.append)
    again = train(TrainRequest(project, sha="b" * 40, pr=2, overrides={"n_estimators": 20}), postgres_uri,
                  notes.append)
    assert not first.reused and again.reused and again.run_id == first.run_id  # the run-cache works here too

    tracker = MlflowTracker(postgres_uri, lock_dir=tmp_path / "locks")
    assert tracker.promote("breast-cancer", first.run_id, by="maya", reason="baseline").version == "1"
    second = train(TrainRequest(project, sha="c" * 40, pr=3, overrides={"n_estimators": 40}), postgres_uri,
                   notes.append)
    assert second.baseline_version == "1" and not second.reused
    assert tracker.find_run("breast-cancer", "c" * 40) == second.run_id
    assert set(tracker.load_predictions(second.run_id).columns) >= {"row_id", "truth", "candidate_pred",
                                                                     "production_pred"}
    promoted = tracker.promote("breast-cancer", second.run_id, by="maya", reason="more trees", pr=3)
    assert (promoted.version, promoted.previous, promoted.changed) == ("2", "1", True)

    back = tracker.rollback("breast-cancer", by="maya", reason="bad")
    assert (back.version, back.previous) == ("1", "2")
    production = tracker.production_version("breast-cancer")
    assert production is not None and production.version == "1"
    assert [(e.action, e.version, e.by) for e in tracker.history("breast-cancer")] == [
        ("promote", "1", "maya"), ("promote", "2", "maya"), ("rollback", "1", "maya")]
