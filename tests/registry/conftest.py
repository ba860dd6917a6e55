"""Registry fixtures: a real MLflow SQLite store and runs carrying a small logged model."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from bot.adapters.mlflow.registry import Registry
from tests.cli import CliResult, run_mlbot

MODEL = "bc"
LogRun = Callable[..., str]


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its migrations run once (≈1.5 s saved per test)."""
    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_store: Path) -> str:
    """Like the shared fixture (a store in tmp_path, cwd there), starting from a migrated copy."""
    shutil.copyfile(migrated_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri)


@pytest.fixture
def registry(client: MlflowClient, tracking_uri: str, tmp_path: Path) -> Registry:
    return Registry(client, tracking_uri=tracking_uri, lock_dir=tmp_path / "locks", lock_settle=0.02)


@pytest.fixture
def log_run(client: MlflowClient, tracking_uri: str) -> LogRun:
    """Log a finished run with a tiny model and mlbot tags; return its run id."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)  # an earlier test's CLI may have pointed the fluent API elsewhere
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


ROOT = Path(__file__).resolve().parents[2]
# Policies of our own, so these tests do not move when the example's gates are retuned.
POLICY = """\
gates:
  - name: roc_auc is not worse than production
    metric: roc_auc
    vs_production: {max_drop: 0.005, confidence: 0.95}
  - name: accuracy floor
    metric: accuracy
    min: 0.93
  - name: same evaluation rows
    eval_set: unchanged
"""


Result = CliResult
Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], tracking_uri: str) -> Cli:
    """Run `mlbot ARGS` in this process through the real boundary; return exit code and output."""
    return functools.partial(run_mlbot, capsys)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of examples/breast-cancer with our own policy."""
    target = tmp_path / "proj"
    shutil.copytree(ROOT / "examples" / "breast-cancer", target,
                    ignore=shutil.ignore_patterns("policies", "__pycache__"))
    (target / "policies").mkdir()
    (target / "policies" / "gates.yaml").write_text(POLICY)
    return target


Train = Callable[..., str]


@pytest.fixture
def train(cli: Cli, project: Path) -> Train:
    """Train the example at a fake sha with small forests; return the run id."""

    def run(sha: str, **params: object) -> str:
        args = ["train", "--project", str(project), "--sha", sha, "--branch", "feature"]
        for name, value in {"n_estimators": 10, **params}.items():
            args += ["--param", f"{name}={value}"]
        result = cli(*args)
        assert result.code == 0, result.err
        return result.run_id

    return run
