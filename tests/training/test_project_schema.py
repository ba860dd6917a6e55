"""mlbot.yaml: every user mistake is a ConfigError naming file and key, and `mlbot check` exits 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.config import parse_project
from bot.core.errors import ConfigError
from bot.training.train import check_project

from .conftest import Cli

BASE: dict[str, Any] = {
    "model": "toy",
    "task": "classification",
    "data": {"train": "data/train.csv", "eval": "data/eval.csv", "target": "label", "slices": ["color"]},
    "train": {"estimator": "sklearn.ensemble.RandomForestClassifier",
              "params": {"n_estimators": 5, "random_state": 0}, "inputs": ["data/", "mlbot.yaml"]},
    "metrics": ["roc_auc", "accuracy"],
}


def _rows(count: int, offset: int) -> str:
    lines = ["x,color,label"]
    lines += [f"{(i * 7) % 11},{'red' if i % 2 else 'blue'},{i % 2}" for i in range(offset, offset + count)]
    return "\n".join(lines) + "\n"


def write_project(root: Path, config: dict[str, Any] | str) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "train.csv").write_text(_rows(30, 0))
    (root / "data" / "eval.csv").write_text(_rows(10, 30))
    text = config if isinstance(config, str) else yaml.safe_dump(config)
    (root / "mlbot.yaml").write_text(text)
    return root


def changed(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    config = yaml.safe_load(yaml.safe_dump(BASE))
    edit(config)
    return config


# (case, config, expected key, words the problem must contain)
CASES: list[tuple[str, dict[str, Any] | str, str, str]] = [
    ("broken yaml", "model: toy\ntask: [classification\n", "", "not valid YAML"),
    ("not a mapping", "- model\n- task\n", "", "expected a mapping"),
    ("unknown top-level key", changed(lambda c: c.update(modle="x")), "modle", "unknown key"),
    ("unknown nested key", changed(lambda c: c["data"].update(slicez=[])), "data.slicez",
     "did you mean 'slices'"),
    ("missing target", changed(lambda c: c["data"].pop("target")), "data.target", "required key is missing"),
    ("bad task", changed(lambda c: c.update(task="clustering")), "task", "'classification' or 'regression'"),
    ("both modes", changed(lambda c: c["train"].update(command="python train.py")), "train", "exactly one"),
    ("missing data file", changed(lambda c: c["data"].update(train="data/nope.csv")), "data.train",
     "does not exist"),
    ("target not in data", changed(lambda c: c["data"].update(target="outcome")), "data.target",
     "'outcome' is not in the train or eval data"),
    ("slice not in data", changed(lambda c: c["data"].update(slices=["size"])), "data.slices[0]",
     "'size' is not in the train or eval data"),
    ("unknown estimator module", changed(lambda c: c["train"].update(estimator="sklearn.forest.Forest")),
     "train.estimator", "cannot import module 'sklearn.forest'"),
    ("unknown estimator class", changed(
        lambda c: c["train"].update(estimator="sklearn.ensemble.RandomForestClassifer")),
     "train.estimator", "did you mean sklearn.ensemble.RandomForestClassifier"),
    ("not a dotted path", changed(lambda c: c["train"].update(estimator="RandomForest")), "train.estimator",
     "not a dotted import path"),
    ("unknown metric", changed(lambda c: c.update(metrics=["roc_auk"])), "metrics[0]",
     "unknown metric 'roc_auk'; did you mean 'roc_auc'"),
    ("metric of the other task", changed(lambda c: c.update(metrics=["accuracy", "rmse"])), "metrics[1]",
     "'rmse' is a regression metric but task is classification"),
    ("unknown param", changed(lambda c: c["train"]["params"].update(n_estimatorz=3)),
     "train.params.n_estimatorz",
     "unknown parameter for RandomForestClassifier; did you mean 'n_estimators'"),
    ("param rejected", changed(lambda c: c["train"]["params"].update(n_estimators=-3)),
     "train.params.n_estimators", "must be an int in the range [1, inf)"),
    ("needs probabilities",
     changed(lambda c: c["train"].update(estimator="sklearn.svm.LinearSVC", params={})),
     "metrics", "roc_auc need predicted probabilities, but LinearSVC has no predict_proba"),
    ("missing input", changed(lambda c: c["train"].update(inputs=["src/", "mlbot.yaml"])), "train.inputs[0]",
     "'src/' does not exist"),
]


@pytest.mark.parametrize(("case", "config", "key", "words"), CASES, ids=[c[0] for c in CASES])
def test_broken_project_names_file_and_key(tmp_path: Path, case: str, config: dict[str, Any] | str,
                                           key: str, words: str) -> None:
    root = write_project(tmp_path, config)
    with pytest.raises(ConfigError) as raised:
        check_project(root)
    found = [p for p in raised.value.problems if p.key == key]
    assert found, f"{case}: no problem at {key!r} in {[str(p) for p in raised.value.problems]}"
    assert found[0].file.endswith("mlbot.yaml")
    assert words in found[0].problem


@pytest.mark.parametrize(("case", "config", "key", "words"), CASES, ids=[c[0] for c in CASES])
def test_check_exits_2_with_one_sentence_per_problem(
        tmp_path: Path, cli: Cli, case: str, config: dict[str, Any] | str, key: str, words: str) -> None:
    root = write_project(tmp_path, config)
    result = cli("check", str(root))
    assert result.code == 2, result
    assert "Traceback" not in result.out + result.err
    where = f"mlbot.yaml: {key}: " if key else "mlbot.yaml: "
    assert any(line.startswith("error: ") and where in line and words in line
               for line in result.err.splitlines()), result.err


def test_check_reports_every_problem_at_once(tmp_path: Path, cli: Cli) -> None:
    def edit(c: dict[str, Any]) -> None:
        c["metrics"] = ["rmse"]
        c["data"]["target"] = "outcome"
        c["train"]["params"] = {"n_estimatorz": 3}

    result = cli("check", str(write_project(tmp_path, changed(edit))))
    errors = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert result.code == 2
    assert [e.split(": ")[2] for e in errors] == ["metrics[0]", "data.target",
                                                   "train.params.n_estimatorz"]


def test_check_ok(tmp_path: Path, cli: Cli) -> None:
    result = cli("check", str(write_project(tmp_path, BASE)))
    assert result.code == 0, result.err
    assert result.out.startswith("ok: ")
    assert "model toy (classification)" in result.out


def test_missing_project_file(tmp_path: Path, cli: Cli) -> None:
    result = cli("check", str(tmp_path))
    assert result.code == 2
    assert f"error: {tmp_path / 'mlbot.yaml'}: file not found" in result.err
    assert "mlbot init" in result.err


def test_check_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    root = write_project(tmp_path, changed(lambda c: c["train"]["params"].update(n_estimatorz=3)))
    done = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "check", str(root)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert ("error: mlbot.yaml: train.params.n_estimatorz: unknown parameter for RandomForestClassifier; "
            "did you mean 'n_estimators'?") in done.stderr


def test_defaults_fill_the_optional_sections() -> None:
    config = parse_project(yaml.safe_dump({k: v for k, v in BASE.items() if k != "metrics"}))
    assert config.metric_names == ["roc_auc", "accuracy", "f1"]
    assert config.experiment_name == "toy"
    assert (config.ci.runner, config.promote.alias, config.promote.git_tag) == ("actions", "production", True)
    assert config.train.mode == "estimator"


def test_examples_are_valid(cli: Cli) -> None:
    from .conftest import EXAMPLES

    for name in ("breast-cancer", "diabetes", "command-mode"):
        result = cli("check", str(EXAMPLES / name))
        assert result.code == 0, result.err
