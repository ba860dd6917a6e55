"""Command mode: mlbot runs the user's script, safe-loads the skops model it wrote, and evaluates it itself."""

from __future__ import annotations

import json
from pathlib import Path

from bot.adapters.mlflow.runs import RunStore

from .conftest import Cli, copy_example


def test_command_mode_trains_and_logs_the_same_way(cli: Cli, tmp_path: Path, tracking_uri: str) -> None:
    project = copy_example("command-mode", tmp_path / "repo")
    result = cli("train", "--project", str(project), "--param", "C=0.5", "--sha", "c" * 40)
    assert result.code == 0, result.err
    assert "trained on 120 rows with {'C': 0.5, 'max_iter': 500}" in result.err  # the script's own output
    store = RunStore(tracking_uri)
    record = store.load_run_record(result.run_id)
    assert record.params["mlbot.estimator"] == "command"
    assert (record.params["C"], record.params["max_iter"]) == ("0.5", "500")
    assert {"accuracy", "f1", "roc_auc", "model_size_mb", "predict_p95_ms"} <= set(record.metrics)
    assert record.tags["mlbot.status"] == "finished" and record.tags["mlbot.sha"] == "c" * 40
    predictions = store.load_predictions(result.run_id)
    assert len(predictions) == 30
    assert {f"candidate_proba.{s}" for s in ("setosa", "versicolor", "virginica")} <= set(predictions)
    again = cli("train", "--project", str(project), "--param", "C=0.5")
    assert again.run_id == result.run_id and "reused run" in again.out


def test_the_script_sees_the_mlbot_variables(cli: Cli, tmp_path: Path, tracking_uri: str) -> None:
    project = copy_example("command-mode", tmp_path / "repo")
    (project / "train.py").write_text(
        "import json, os, sys\n"
        "seen = {k: v for k, v in os.environ.items() if k.startswith('MLBOT_')}\n"
        "print('SEEN=' + json.dumps(seen, sort_keys=True))\n"
        "sys.exit(3)\n")
    result = cli("train", "--project", str(project), "--param", "max_iter=7", "--param", "note=hello world")
    assert result.code == 1
    assert "error: `python train.py` exited with code 3" in result.err
    seen = json.loads(next(line for line in result.err.splitlines() if "SEEN=" in line).split("SEEN=", 1)[1])
    assert seen["MLBOT_TARGET"] == "species"
    assert json.loads(seen["MLBOT_PARAMS"]) == {"C": 1.0, "max_iter": 7, "note": "hello world"}
    assert seen["MLBOT_TRAIN_PATH"] == str((project / "data" / "train.csv").resolve())
    assert seen["MLBOT_EVAL_PATH"] == str((project / "data" / "eval.csv").resolve())
    assert seen["MLBOT_MODEL_PATH"].endswith("model.skops")
    assert not any(k.startswith(("MLBOT_GITHUB", "MLBOT_WEBHOOK")) for k in seen)


def test_a_failing_script_fails_the_run_with_its_log(cli: Cli, tmp_path: Path, tracking_uri: str) -> None:
    project = copy_example("command-mode", tmp_path / "repo")
    (project / "train.py").write_text("print('loading data')\nraise SystemExit('ran out of coffee')\n")
    result = cli("train", "--project", str(project))
    assert result.code == 1
    assert "ran out of coffee" in result.err
    assert "error: `python train.py` exited with code 1" in result.err
    assert "something unexpected" not in result.err
    assert _runs(tracking_uri, "iris") == []  # a failed fit logs nothing: evaluate never started
    assert cli("train", "--project", str(project)).code == 1


def test_a_script_that_writes_no_model(cli: Cli, tmp_path: Path, tracking_uri: str) -> None:
    project = copy_example("command-mode", tmp_path / "repo")
    (project / "train.py").write_text("print('forgot to save')\n")
    result = cli("train", "--project", str(project))
    assert result.code == 1
    assert "wrote no model to $MLBOT_MODEL_PATH" in result.err
    assert "bot.training.safe_model import save" in result.err


def test_a_joblib_model_is_refused_with_how_to_save_it(cli: Cli, tmp_path: Path, tracking_uri: str) -> None:
    project = copy_example("command-mode", tmp_path / "repo")
    script = (project / "train.py").read_text()
    (project / "train.py").write_text(
        script.replace("from bot.training.safe_model import save\n", "from joblib import dump as save\n"))
    result = cli("train", "--project", str(project))
    assert result.code == 1
    assert "is a pickle/joblib file, which runs code when loaded" in result.err
    assert "bot.training.safe_model import save" in result.err
    assert _runs(tracking_uri, "iris") == []


def _runs(uri: str, experiment: str) -> list[object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    return list(client.search_runs([found.experiment_id])) if found else []
