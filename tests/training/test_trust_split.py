"""The trust boundary (SPEC §10): fit writes a code-free model, evaluate judges it with mlbot's own code.

Hostile inputs are real: a pickle whose loading runs code, a skops file holding a type whose
construction runs code. Each payload writes a marker file; the marker proves nothing of it ran.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest
import skops.io
from mlflow.tracking import MlflowClient

from bot.adapters.mlflow.runs import RunStore

from .conftest import Cli, copy_example

SMALL = ("--param", "n_estimators=10")


class WritesMarker:
    """Runs code when unpickled (`__reduce__`) or constructed by skops (`__setstate__`)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (Path(self.marker), "pwned"))

    def __setstate__(self, state: dict[str, Any]) -> None:
        Path(state["marker"]).write_text("pwned")

    def predict(self, rows: Any) -> Any:
        return [1] * len(rows)


def runs(uri: str, experiment: str) -> list[Any]:
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id])) if found else []


@pytest.fixture
def breast_cancer(tmp_path: Path) -> Path:
    return copy_example("breast-cancer", tmp_path / "repo")


def fit(cli: Cli, project: Path, output: Path, *extra: str) -> None:
    result = cli("fit", "--project", str(project), "--output", str(output), *extra)
    assert result.code == 0, result.err


def evaluate(cli: Cli, project: Path, model: Path, *extra: str) -> Any:
    return cli("evaluate", "--project", str(project), "--model", str(model), "--sha", "e" * 40, *extra)


def test_fit_writes_only_the_safe_model_and_its_report(cli: Cli, breast_cancer: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # fit never talks to MLflow
    fit(cli, breast_cancer, tmp_path / "out", *SMALL)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fit.json", "model.skops"]
    report = json.loads((tmp_path / "out" / "fit.json").read_text())
    assert report["estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert report["params"]["n_estimators"] == 10 and report["train_rows"] == 455
    assert report["versions"]["scikit-learn"] and report["train_seconds"] > 0


def test_the_payloads_are_real(tmp_path: Path) -> None:
    """Control: loaded the unsafe way, each hostile file does run code."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(WritesMarker(marker)))
    assert marker.read_text() == "pwned"
    marker.unlink()
    skops.io.dump(WritesMarker(marker), tmp_path / "evil.skops")
    skops.io.load(tmp_path / "evil.skops", trusted=skops.io.get_untrusted_types(file=tmp_path / "evil.skops"))
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize("name", ["model.skops", "model.joblib"])
def test_a_pickled_model_is_refused_and_nothing_runs(cli: Cli, breast_cancer: Path, tmp_path: Path,
                                                     tracking_uri: str, name: str) -> None:
    out, marker = tmp_path / "out", tmp_path / "marker"
    fit(cli, breast_cancer, out, *SMALL)
    (out / "model.skops").unlink()
    (out / name).write_bytes(pickle.dumps(WritesMarker(marker)))
    result = evaluate(cli, breast_cancer, out, *SMALL)
    assert result.code == 1
    expected = "a pickle/joblib file, which runs code when loaded" if name == "model.skops" else "no model file"
    assert expected in result.err and "Traceback" not in result.err
    assert "skops" in result.err  # says how to save it instead
    assert not marker.exists()
    assert runs(tracking_uri, "breast-cancer") == []  # nothing logged as a candidate


def test_a_skops_file_with_an_untrusted_type_is_refused_naming_it(cli: Cli, breast_cancer: Path,
                                                                 tmp_path: Path, tracking_uri: str) -> None:
    out, marker = tmp_path / "out", tmp_path / "marker"
    fit(cli, breast_cancer, out, *SMALL)
    skops.io.dump(WritesMarker(marker), out / "model.skops")
    result = evaluate(cli, breast_cancer, out, *SMALL)
    assert result.code == 1
    assert "holds types outside mlbot's allow-list: tests.training.test_trust_split.WritesMarker" in result.err
    assert "scikit-learn estimators, transformers and pipelines only" in result.err
    assert not marker.exists()
    assert runs(tracking_uri, "breast-cancer") == []


def test_a_command_that_writes_a_pickle_fails_fit_without_loading_it(cli: Cli, tmp_path: Path,
                                                                     tracking_uri: str) -> None:
    project = copy_example("command-mode", tmp_path / "repo")
    marker = tmp_path / "marker"
    (project / "train.py").write_text(
        "import os, pathlib, pickle\n"
        "class P:\n"
        "    def __reduce__(self):\n"
        f"        return (pathlib.Path.write_text, (pathlib.Path({str(marker)!r}), 'pwned'))\n"
        "pathlib.Path(os.environ['MLBOT_MODEL_PATH']).write_bytes(pickle.dumps(P()))\n")
    result = cli("train", "--project", str(project))
    assert result.code == 1
    assert "wrote a model mlbot refuses" in result.err and "pickle/joblib" in result.err
    assert not marker.exists()
    assert runs(tracking_uri, "iris") == []


def test_evaluate_computes_what_the_gates_read(cli: Cli, breast_cancer: Path, tmp_path: Path,
                                               tracking_uri: str) -> None:
    out = tmp_path / "out"
    fit(cli, breast_cancer, out, *SMALL)
    report = json.loads((out / "fit.json").read_text())
    forged = {**report, "metrics": {"roc_auc": 1.0}, "eval_sha256": "0" * 64, "train_rows": 1}
    (out / "fit.json").write_text(json.dumps(forged))
    (out / "predictions.parquet").write_bytes(b"forged")
    result = evaluate(cli, breast_cancer, out, *SMALL, "--pr", "3", "--trigger", "pull_request")
    assert result.code == 0, result.err
    assert "evaluated run" in result.out
    record = RunStore(tracking_uri).load_run_record(result.run_id)
    assert record.metrics["roc_auc"] < 1.0 and record.metrics["train_rows"] == 455
    assert record.tags["mlbot.eval_sha256"] != "0" * 64
    assert len(RunStore(tracking_uri).load_predictions(result.run_id)) == 114


def test_evaluate_refuses_a_model_fitted_with_other_params(cli: Cli, breast_cancer: Path, tmp_path: Path,
                                                          tracking_uri: str) -> None:
    fit(cli, breast_cancer, tmp_path / "out", *SMALL)
    result = evaluate(cli, breast_cancer, tmp_path / "out", "--param", "n_estimators=500")
    assert result.code == 2
    assert "fitted with other values of n_estimators" in result.err
    assert runs(tracking_uri, "breast-cancer") == []


def promote_first_run(cli: Cli, project: Path, tracking_uri: str) -> str:
    first = cli("train", "--project", str(project), *SMALL)
    assert first.code == 0, first.err
    client = MlflowClient(tracking_uri=tracking_uri)
    client.create_registered_model("breast-cancer")
    uri = RunStore(tracking_uri).load_run_record(first.run_id).tags["mlbot.model_uri"]
    version = client.create_model_version("breast-cancer", uri, run_id=first.run_id)
    client.set_registered_model_alias("breast-cancer", "production", version.version)
    return first.run_id


def eval_set_gate(cli: Cli, base: Path, run_id: str) -> str:
    result = cli("gates", "--project", str(base), "--run", run_id, "--format", "json")
    gates = json.loads(result.out)["gates"]
    return str(next(g for g in gates if g["name"] == "same evaluation rows")["verdict"])


def test_a_pr_that_edits_the_eval_file_is_caught_by_eval_set(cli: Cli, tmp_path: Path,
                                                             tracking_uri: str) -> None:
    base = copy_example("breast-cancer", tmp_path / "base")
    promote_first_run(cli, base, tracking_uri)
    head = copy_example("breast-cancer", tmp_path / "head")
    rows = (head / "data" / "eval.csv").read_text().splitlines()
    (head / "data" / "eval.csv").write_text("\n".join(rows[:60]) + "\n")  # keep only easy rows
    fit(cli, head, tmp_path / "out", *SMALL)
    result = evaluate(cli, head, tmp_path / "out", "--config", str(base / "mlbot.yaml"), *SMALL)
    assert result.code == 0, result.err
    assert eval_set_gate(cli, base, result.run_id) == "fail"


def test_a_pr_that_moves_the_eval_path_is_judged_on_the_base_eval_rows(cli: Cli, tmp_path: Path,
                                                                      tracking_uri: str) -> None:
    base = copy_example("breast-cancer", tmp_path / "base")
    first = promote_first_run(cli, base, tracking_uri)
    head = copy_example("breast-cancer", tmp_path / "head")
    shutil.copy(head / "data" / "train.csv", head / "data" / "easy.csv")
    config = (head / "mlbot.yaml").read_text().replace("data/eval.csv", "data/easy.csv")
    (head / "mlbot.yaml").write_text(config)
    fit(cli, head, tmp_path / "out", *SMALL)
    with_base = evaluate(cli, head, tmp_path / "out", "--config", str(base / "mlbot.yaml"), *SMALL)
    assert with_base.code == 0, with_base.err
    store = RunStore(tracking_uri)
    assert (store.load_run_record(with_base.run_id).tags["mlbot.eval_sha256"]
            == store.load_run_record(first).tags["mlbot.eval_sha256"])
    assert eval_set_gate(cli, base, with_base.run_id) == "pass"
    head_only = evaluate(cli, head, tmp_path / "out", *SMALL)  # without --config: the PR's own eval path
    assert eval_set_gate(cli, base, head_only.run_id) == "fail"


def test_a_pickled_production_model_is_not_unpickled(cli: Cli, breast_cancer: Path, tmp_path: Path,
                                                     tracking_uri: str) -> None:
    """Production logged with cloudpickle (mlbot before the split): reported, never loaded."""
    import mlflow
    import mlflow.sklearn

    marker = tmp_path / "marker"
    client = MlflowClient(tracking_uri=tracking_uri)
    with mlflow.start_run(experiment_id=client.create_experiment("older")):
        info = mlflow.sklearn.log_model(WritesMarker(marker), name="model", serialization_format="cloudpickle",
                                        pip_requirements=["scikit-learn"])
    client.create_registered_model("breast-cancer")
    version = client.create_model_version("breast-cancer", info.model_uri)
    client.set_registered_model_alias("breast-cancer", "production", version.version)
    assert not marker.exists()

    result = cli("train", "--project", str(breast_cancer), *SMALL)
    assert result.code == 0, result.err
    assert not marker.exists()
    tags = RunStore(tracking_uri).load_run_record(result.run_id).tags
    assert "could not be scored safely" in tags["mlbot.baseline_error"]
    assert "cloudpickle, which runs code when loaded" in tags["mlbot.baseline_error"]
    assert "mlbot.baseline_version" not in tags


def test_the_logged_model_loads_with_pyfunc(cli: Cli, breast_cancer: Path, tracking_uri: str) -> None:
    import mlflow.pyfunc
    import pandas as pd

    first = cli("train", "--project", str(breast_cancer), *SMALL)
    client = MlflowClient(tracking_uri=tracking_uri)
    client.create_registered_model("breast-cancer")
    uri = RunStore(tracking_uri).load_run_record(first.run_id).tags["mlbot.model_uri"]
    version = client.create_model_version("breast-cancer", uri, run_id=first.run_id)
    client.set_registered_model_alias("breast-cancer", "production", version.version)
    model = mlflow.pyfunc.load_model("models:/breast-cancer@production")
    rows = pd.read_csv(breast_cancer / "data" / "eval.csv").drop(columns=["label", "id"]).head(4)
    assert len(model.predict(rows)) == 4
    flavour = model.metadata.flavors["sklearn"]
    assert flavour["serialization_format"] == "skops"


def test_a_model_that_cannot_score_the_eval_rows_fails_with_a_sentence(cli: Cli, breast_cancer: Path,
                                                                      tmp_path: Path, tracking_uri: str) -> None:
    fit(cli, breast_cancer, tmp_path / "out", *SMALL)
    evaluation = breast_cancer / "data" / "eval.csv"
    rows = evaluation.read_text().splitlines()
    header = rows[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "mean radius"]
    evaluation.write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in rows) + "\n")
    train = breast_cancer / "data" / "train.csv"
    train_rows = train.read_text().splitlines()
    train.write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in train_rows) + "\n")
    result = evaluate(cli, breast_cancer, tmp_path / "out", *SMALL)
    assert result.code == 1
    assert "error: the fitted model cannot score the eval rows of data/eval.csv" in result.err
    assert "something unexpected" not in result.err
    assert runs(tracking_uri, "breast-cancer")[0].data.tags["mlbot.status"] == "failed"
