"""The "Misleading" papercuts of issue 14: what a careful user sees, pinned word for word where it matters."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.lifecycle.helpers import git
from tests.training.conftest import Cli, copy_example

SMALL = ("--param", "n_estimators=5")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_example("breast-cancer", tmp_path / "repo")


@pytest.fixture
def committed(project: Path) -> Path:
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "start")
    return project


def edit_config(project: Path, old: str, new: str) -> None:
    config = project / "mlbot.yaml"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new))


# --- uncommitted changes and no git at all ---------------------------------------------------------


def test_uncommitted_inputs_are_refused_and_nothing_is_trained(cli: Cli, committed: Path, tracking_uri: str) -> None:
    (committed / "src" / "check_data.py").write_text("# changed\n")
    (committed / "data" / "extra.csv").write_text("a\n1\n")
    head = git(committed, "rev-parse", "HEAD")
    result = cli("train", "--project", str(committed), *SMALL)
    assert result.code == 1
    assert result.err == (f"error: {committed} has uncommitted changes to files the model is trained on "
                          f"(src/check_data.py, data/extra.csv), so the run would not be commit {head[:7]}; "
                          "mlbot trained nothing\n"
                          "  next: commit them (or stash them), then run `mlbot train` again\n")
    assert MlflowClient(tracking_uri).get_experiment_by_name("breast-cancer") is None


def test_changes_outside_the_inputs_and_an_explicit_sha_train(cli: Cli, committed: Path, tracking_uri: str) -> None:
    (committed / "README.md").write_text("notes\n")  # not under train.inputs
    assert cli("train", "--project", str(committed), *SMALL).code == 0
    (committed / "src" / "check_data.py").write_text("# changed\n")
    assert cli("train", "--project", str(committed), "--sha", "c" * 40, *SMALL).code == 0  # the caller names it


def test_outside_git_train_warns_and_records_no_sha(cli: Cli, project: Path, tracking_uri: str) -> None:
    result = cli("train", "--project", str(project), *SMALL)
    assert result.code == 0
    assert (f"mlbot: warning: {project} is not in a git repository, so this run records no commit; "
            "find it with `--run <run id>`, not `--sha`") in result.err
    assert MlflowClient(tracking_uri).get_run(result.run_id).data.tags.get("mlbot.sha", "") == ""


# --- mlbot check ------------------------------------------------------------------------------------


def test_a_mistyped_target_gets_a_did_you_mean(cli: Cli, project: Path) -> None:
    edit_config(project, "target: label ", "target: lable ")
    result = cli("check", str(project))
    assert result.code == 2
    assert ("error: mlbot.yaml: data.target: column 'lable' is not in the train or eval data "
            "(did you mean 'label'?)\n") in result.err


def test_an_unlike_target_gets_a_capped_column_list(cli: Cli, project: Path) -> None:
    edit_config(project, "target: label ", "target: zzz ")
    result = cli("check", str(project))
    assert re.search(r"column 'zzz' is not in the train or eval data \(its 33 columns: id, region, "
                     r"mean radius, .*, … \(25 more\)\)", result.err), result.err
    assert result.err.count("data.target") == 1


def test_a_continuous_target_is_refused_for_classification_with_the_fix(cli: Cli, project: Path) -> None:
    edit_config(project, "target: label ", "target: mean radius ")
    result = cli("check", str(project))
    assert result.code == 2
    assert re.search(r"data.target: column 'mean radius' holds \d+ distinct numbers with fractions \(such as "
                     r"[\d.]+\), which are not classes; set `task: regression`, or make the column hold class "
                     r"labels", result.err), result.err


def test_whole_numbers_in_a_float_column_are_classes(cli: Cli, project: Path) -> None:
    for name in ("train", "eval"):
        path = project / "data" / f"{name}.csv"
        frame = pd.read_csv(path)
        frame["label"] = frame["label"].astype(float)
        frame.to_csv(path, index=False)
    assert cli("check", str(project)).code == 0


def test_policy_key_typos_and_metric_names_come_in_one_round(cli: Cli, project: Path) -> None:
    (project / "policies" / "gates.yaml").write_text(
        "gates:\n"
        "  - {name: a, metric: accuracy, mni: 0.9}\n"
        "  - {name: b, metric: rmse, max: 3}\n"
        "  - {name: c, metric: log_loss, max: 3}\n")
    result = cli("check", str(project))
    assert result.code == 2
    assert result.err == (
        "error: policies/gates.yaml: gates[0].mni: unknown key 'mni' (did you mean 'min'?); allowed keys: name, "
        "description, metric, min, max, vs_production, slices, eval_set, data, model, max_negative_flip_rate, "
        "review, checks, watch, vs_reference, severity, inconclusive\n"
        "error: policies/gates.yaml: gates[1].metric: 'rmse' is a regression metric and this is a classification "
        "model; gate on one of its metrics (roc_auc, accuracy, f1)\n"
        "error: policies/gates.yaml: gates[2].metric: 'log_loss' is not among the metrics in mlbot.yaml "
        "(roc_auc, accuracy, f1); add it there or fix the name\n"
        "  next: fix the policy files, then run `mlbot check` again\n")


def test_a_missing_eval_file_is_blamed_on_data_eval(cli: Cli, project: Path, tracking_uri: str) -> None:
    edit_config(project, "inputs: [src/, data/, mlbot.yaml]", "inputs: [src/, data/evl.csv]")
    edit_config(project, "eval: data/eval.csv", "eval: data/evl.csv")
    for argv in (("check", str(project)), ("train", "--project", str(project))):
        result = cli(*argv)
        assert f"error: mlbot.yaml: data.eval: data file {project}/data/evl.csv does not exist\n" in result.err
        assert "train.inputs" not in result.err and result.err.count("error:") == 1


def test_check_points_at_its_directory_argument_not_a_project_option(cli: Cli, tmp_path: Path) -> None:
    result = cli("check", str(tmp_path))
    assert result.err == (f"error: {tmp_path}/mlbot.yaml: file not found\n"
                          "  next: run `mlbot init` to create one, or give its directory: `mlbot check DIR`\n")


# --- the environment ---------------------------------------------------------------------------------


def test_an_unreachable_redis_is_one_sentence(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLBOT_GITHUB_TOKEN", "t")
    monkeypatch.setenv("MLBOT_QUEUE_URL", "redis://:hunter2@127.0.0.1:1/0")
    result = cli("worker")
    assert result.code == 1
    assert result.err.endswith(
        "error: I could not reach Redis at redis://[redacted]@127.0.0.1:1/0 (MLBOT_QUEUE_URL): Error 111 "
        "connecting to 127.0.0.1:1. Connection refused.\n"
        "  next: start Redis there, or point MLBOT_QUEUE_URL at a running one (or at sqlite:///.mlbot/queue.db "
        "for one machine)\n")
    assert "hunter2" not in result.err and "unexpected" not in result.err


def test_train_writes_nothing_into_the_repository_when_mlflow_lives_elsewhere(
    cli: Cli, committed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "elsewhere"
    store.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    monkeypatch.chdir(committed)  # as a user runs it: in the repository
    assert cli("train", *SMALL).code == 0
    assert git(committed, "status", "--porcelain", "--ignored") == ""
    assert (store / "mlartifacts").is_dir()
