"""Registry fixtures: a real MLflow SQLite store and runs carrying a small logged model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from bot.mlflow_client.registry import Registry

MODEL = "bc"
LogRun = Callable[..., str]


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri)


@pytest.fixture
def registry(client: MlflowClient, tracking_uri: str, tmp_path: Path) -> Registry:
    return Registry(client, tracking_uri=tracking_uri, lock_dir=tmp_path / "locks", lock_settle=0.02)


@pytest.fixture
def log_run(client: MlflowClient) -> LogRun:
    """Log a finished run with a tiny model and mlbot tags; return its run id."""
    import mlflow

    experiment = client.get_experiment_by_name(MODEL) or client.get_experiment(
        client.create_experiment(MODEL)
    )
    features = np.random.default_rng(0).random((30, 3))
    fitted = LogisticRegression().fit(features, features[:, 0] > 0.5)

    def log(sha: str, *, baseline: str | None = None, pr: int | None = None, key: str = "k") -> str:
        tags = {"mlbot.sha": sha, "mlbot.model": MODEL, "mlbot.cache_key": key, "mlbot.status": "finished"}
        if baseline:
            tags["mlbot.baseline_version"] = baseline
        if pr is not None:
            tags["mlbot.pr"] = str(pr)
        with mlflow.start_run(experiment_id=experiment.experiment_id, tags=tags) as run:
            mlflow.sklearn.log_model(fitted, name="model", serialization_format="cloudpickle",
                                     pip_requirements=["scikit-learn"])
        return str(run.info.run_id)

    return log
