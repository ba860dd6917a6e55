"""`mlbot train` end to end on the examples, against a real MLflow store on SQLite in tmp_path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from bot.adapters.mlflow.runs import RunStore

from .conftest import Cli, Outcome, copy_example

SMALL = ("--param", "n_estimators=10")


@pytest.fixture
def store(tracking_uri: str) -> Iterator[RunStore]:
    yield RunStore(tracking_uri)


def experiment_runs(uri: str, experiment: str) -> list[Any]:
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id])) if found else []


def train(cli: Cli, project: Path, *extra: str) -> Outcome:
    result = cli("train", "--project", str(project), *extra)
    assert result.code == 0, f"{result.out}\n{result.err}"
    assert "Traceback" not in result.err
    return result


@pytest.fixture
def breast_cancer(tmp_path: Path) -> Path:
    return copy_example("breast-cancer", tmp_path / "repo")


def test_a_training_run_logs_the_contract(cli: Cli, breast_cancer: Path, store: RunStore) -> None:
    result = train(cli, breast_cancer, "--sha", "a" * 40, "--pr", "7", "--branch", "feature/x",
                   "--trigger", "pull_request", *SMALL)
    record = store.load_run_record(result.run_id)
    tags, metrics = record.tags, record.metrics
    assert tags["mlbot.sha"] == "a" * 40
    assert tags["mlbot.pr"] == "7"
    assert (tags["mlbot.branch"], tags["mlbot.trigger"]) == ("feature/x", "pull_request")
    assert re.fullmatch(r"[0-9a-f]{64}", tags["mlbot.eval_sha256"])
    assert re.fullmatch(r"[0-9a-f]{64}", tags["mlbot.cache_key"])
    assert (tags["mlbot.model"], tags["mlbot.task"], tags["mlbot.metrics"]) == (
        "breast-cancer", "classification", "roc_auc,accuracy,f1")
    assert tags["mlbot.status"] == "finished"
    assert "mlbot.baseline_version" not in tags
    for name in ("roc_auc", "accuracy", "f1"):
        assert 0.8 < metrics[name] <= 1.0, name
    assert metrics["model_size_mb"] > 0 and metrics["predict_p95_ms"] > 0 and metrics["train_seconds"] > 0
    assert (metrics["eval_rows"], metrics["train_rows"]) == (114, 455)
    assert {f"slice.region.{r}.accuracy" for r in ("north", "south", "west")} <= set(metrics)
    assert not any(k.startswith("production.") for k in metrics)
    assert record.params["n_estimators"] == "10"
    assert record.params["mlbot.estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert "trained run" in result.out and "roc_auc" in result.out
    assert "fitting RandomForestClassifier" in result.err

    evaluation = pd.read_csv(breast_cancer / "data" / "eval.csv")
    model = mlflow.sklearn.load_model(tags["mlbot.model_uri"])
    raw_features = evaluation.drop(columns=["label", "id"])
    assert len(model.predict(raw_features)) == len(evaluation)
    by_run = mlflow.sklearn.load_model(f"runs:/{result.run_id}/model")
    assert by_run.predict(raw_features.head(3)).shape == (3,)

    predictions = store.load_predictions(result.run_id)
    assert len(predictions) == len(evaluation)
    assert list(predictions["row_id"]) == list(evaluation["id"])
    assert list(predictions["truth"]) == list(evaluation["label"])
    assert {"candidate_pred", "candidate_proba.0", "candidate_proba.1", "slice.region"} <= set(predictions)
    assert not any(c.startswith("production_") for c in predictions)
    accuracy = float((predictions["candidate_pred"] == predictions["truth"]).mean())
    assert accuracy == pytest.approx(metrics["accuracy"])

    profile = store.load_profile(result.run_id)
    assert profile["rows"] == {"train": 455, "eval": 114}
    radius = profile["columns"]["mean radius"]
    assert radius["kind"] == "numeric" and len(radius["train"]["quantiles"]) == 101
    assert len(radius["train"]["histogram"]["edges"]) == 21
    assert sum(radius["eval"]["histogram"]["counts"]) == 114
    assert profile["columns"]["region"]["kind"] == "categorical"
    assert sum(profile["columns"]["region"]["eval"]["frequencies"].values()) == pytest.approx(1.0)
    assert profile["columns"]["label"]["kind"] == "categorical"


def test_same_inputs_reuse_the_run_and_force_retrains(cli: Cli, breast_cancer: Path,
                                                      tracking_uri: str) -> None:
    first = train(cli, breast_cancer, "--sha", "1" * 40, "--pr", "1", *SMALL)
    again = train(cli, breast_cancer, "--sha", "2" * 40, "--pr", "2", "--branch", "other", *SMALL)
    assert again.run_id == first.run_id
    assert f"reused run {first.run_id} (cache hit" in again.out
    assert len(experiment_runs(tracking_uri, "breast-cancer")) == 1

    changed = train(cli, breast_cancer, "--param", "n_estimators=11")
    assert changed.run_id != first.run_id
    forced = train(cli, breast_cancer, "--force", *SMALL)
    assert forced.run_id not in {first.run_id, changed.run_id}
    assert len(experiment_runs(tracking_uri, "breast-cancer")) == 3


def test_production_is_scored_beside_the_candidate(cli: Cli, breast_cancer: Path, store: RunStore,
                                                   tracking_uri: str) -> None:
    first = train(cli, breast_cancer, "--sha", "1" * 40, *SMALL)
    client = MlflowClient(tracking_uri=tracking_uri)
    client.create_registered_model("breast-cancer")
    model_uri = store.load_run_record(first.run_id).tags["mlbot.model_uri"]
    version = client.create_model_version("breast-cancer", model_uri, run_id=first.run_id)
    client.set_registered_model_alias("breast-cancer", "production", version.version)

    second = train(cli, breast_cancer, "--sha", "2" * 40,
                   "--param", "n_estimators=5", "--param", "max_depth=3")
    record = store.load_run_record(second.run_id)
    assert record.tags["mlbot.baseline_version"] == str(version.version)
    assert record.tags["mlbot.baseline_run_id"] == first.run_id
    first_metrics = store.load_run_record(first.run_id).metrics
    for name in ("roc_auc", "accuracy", "f1"):
        assert record.metrics[f"production.{name}"] == pytest.approx(first_metrics[name])
    assert record.params["max_depth"] == "3"
    predictions = store.load_predictions(second.run_id)
    assert {"production_pred", "production_proba.0", "production_proba.1"} <= set(predictions)
    first_predictions = store.load_predictions(first.run_id)
    assert list(predictions["production_pred"]) == list(first_predictions["candidate_pred"])
    assert "production" in second.out and "delta" in second.out

    # Run 1's inputs again: a production model now exists, so a new comparison is needed.
    third = train(cli, breast_cancer, "--sha", "3" * 40, *SMALL)
    assert third.run_id != first.run_id
    assert store.load_run_record(third.run_id).tags["mlbot.baseline_version"] == str(version.version)
    fourth = train(cli, breast_cancer, "--sha", "4" * 40, *SMALL)
    assert fourth.run_id == third.run_id and "reused run" in fourth.out


def test_regression_example_trains(cli: Cli, tmp_path: Path, store: RunStore) -> None:
    project = copy_example("diabetes", tmp_path / "repo")
    result = train(cli, project, "--param", "n_estimators=20")
    record = store.load_run_record(result.run_id)
    assert {"rmse", "mae", "r2", "model_size_mb", "predict_p95_ms"} <= set(record.metrics)
    assert record.metrics["rmse"] > record.metrics["mae"] > 0
    predictions = store.load_predictions(result.run_id)
    assert len(predictions) == 89
    assert not any("proba" in column for column in predictions)
