"""The small pure pieces: --param parsing, the run-cache key, batching, the cache probe, tracker errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.mlflow.probe import probe
from bot.adapters.mlflow.runs import BATCH_PARAMS, BATCH_TAGS, BATCH_TOTAL, RunStore, _batches
from bot.cli.train import parse_overrides
from bot.core.config import load_project
from bot.core.errors import ConfigError, UsageError
from bot.training.runcache import hash_inputs, project_cache_key

from .conftest import Cli, copy_example, free_port


@pytest.mark.parametrize(("pair", "expected"), [
    ("n=200", 200), ("lr=0.05", 0.05), ("deep=true", True), ("depth=null", None), ("crit=gini", "gini"),
    ("s=1e-3", 0.001), ("name=two words", "two words"), ("empty=", ""), ("ver='1.10'", "1.10"),
])
def test_param_values_are_yaml_scalars(pair: str, expected: object) -> None:
    assert parse_overrides([pair], None) == {pair.split("=")[0]: expected}


def test_param_pairs_override_the_json_object() -> None:
    assert parse_overrides(["a=2"], '{"a": 1, "b": "x"}') == {"a": 2, "b": "x"}


@pytest.mark.parametrize(("pairs", "params_json", "words"), [
    (["novalue"], None, "is not of the form name=value"),
    (["=3"], None, "is not of the form name=value"),
    ([], "{broken", "--params is not valid JSON"),
    ([], "[1, 2]", "--params must be a JSON object"),
])
def test_bad_overrides_are_usage_errors(pairs: list[str], params_json: str | None, words: str) -> None:
    with pytest.raises(UsageError, match="") as raised:
        parse_overrides(pairs, params_json)
    assert words in raised.value.message and raised.value.exit_code == 2


def test_the_cache_key_follows_inputs_params_and_config_not_the_commit(tmp_path: Path) -> None:
    project_dir = copy_example("breast-cancer", tmp_path)
    project = load_project(project_dir)
    key = project_cache_key(project, {"n_estimators": 10})
    assert project_cache_key(load_project(project_dir), {"n_estimators": 10}) == key
    assert project_cache_key(project, {"n_estimators": 11}) != key

    (project_dir / "src" / "features.md").write_text("changed\n")
    assert project_cache_key(project, {"n_estimators": 10}) != key
    (project_dir / "src" / "features.md").unlink()
    without = project_cache_key(project, {"n_estimators": 10})
    (project_dir / "src" / "__pycache__").mkdir()
    (project_dir / "src" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (project_dir / "src" / ".hidden").write_text("editor state")
    assert project_cache_key(project, {"n_estimators": 10}) == without

    text = (project_dir / "mlbot.yaml").read_text()
    (project_dir / "mlbot.yaml").write_text(text.replace("metrics: [roc_auc, accuracy, f1]", "metrics: [f1]"))
    assert project_cache_key(load_project(project_dir), {"n_estimators": 10}) != without


def test_inputs_are_hashed_by_relative_path(tmp_path: Path) -> None:
    project = load_project(copy_example("breast-cancer", tmp_path))
    digests = hash_inputs(project)
    assert sorted(digests) == list(digests)
    assert {"mlbot.yaml", "data/train.csv", "data/eval.csv", "src/features.md"} <= set(digests)
    assert all(len(d) == 64 for d in digests.values())


def test_a_missing_input_is_a_config_error(tmp_path: Path) -> None:
    project_dir = copy_example("breast-cancer", tmp_path)
    (project_dir / "src" / "features.md").unlink()
    (project_dir / "src" / "check_data.py").unlink()
    (project_dir / "src").rmdir()
    with pytest.raises(ConfigError) as raised:
        hash_inputs(load_project(project_dir))
    assert str(raised.value.problems[0]).startswith("mlbot.yaml: train.inputs[0]: 'src/' does not exist")


def test_batches_respect_mlflow_limits() -> None:
    params = {f"p{i}": "v" for i in range(150)}
    metrics = {f"m{i}": float(i) for i in range(1500)}
    tags = {f"t{i}": "v" for i in range(120)}
    batches = list(_batches(params, metrics, tags))
    for p, m, t in batches:
        assert len(p) <= BATCH_PARAMS and len(t) <= BATCH_TAGS and len(p) + len(m) + len(t) <= BATCH_TOTAL
    assert sum(len(p) for p, _, _ in batches) == 150
    assert dict(kv for _, m, _ in batches for kv in m) == metrics
    assert sum(len(t) for _, _, t in batches) == 120
    assert len(batches) == 2
    assert list(_batches({"a": "1"}, {"m": 1.0}, {"t": "x"})) == [([("a", "1")], [("m", 1.0)], [("t", "x")])]


def test_the_probe_agrees_with_the_full_client(cli: Cli, tmp_path: Path, tracking_uri: str) -> None:
    project_dir = copy_example("breast-cancer", tmp_path / "repo")
    assert probe(tracking_uri, "breast-cancer", "k", "breast-cancer", "production") is None  # no store yet
    result = cli("train", "--project", str(project_dir), "--param", "n_estimators=5")
    store = RunStore(tracking_uri)
    key = store.load_run_record(result.run_id).tags["mlbot.cache_key"]
    found = probe(tracking_uri, "breast-cancer", key, "breast-cancer", "production")
    assert found is not None and found.baseline_version is None and found.run_id == result.run_id
    assert store.find_cached_run("breast-cancer", key, None) == result.run_id
    assert store.production("breast-cancer", "production") is None
    missed = probe(tracking_uri, "breast-cancer", "0" * 64, "breast-cancer", "production")
    assert missed is not None and missed.run_id is None
    assert store.find_cached_run("breast-cancer", "0" * 64, None) is None
    assert store.find_cached_run("breast-cancer", key, "1") is None
    assert store.find_cached_run("no-such-experiment", key, None) is None



def test_an_unreachable_tracking_server_is_one_sentence(cli: Cli, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.chdir(tmp_path)
    result = cli("train", "--project", str(copy_example("breast-cancer", tmp_path / "repo")))
    assert result.code == 1
    assert "Traceback" not in result.err
    assert f"error: MLflow at {url} is unreachable" in result.err
    assert "MLFLOW_TRACKING_URI" in result.err
