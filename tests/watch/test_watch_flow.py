"""`mlbot watch` end to end: a promoted model in MLflow on SQLite, windows on disk, the monitoring run."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from mlflow import MlflowClient

from tests.watch.conftest import rows

SHIFTED = ["mean radius", "mean texture", "worst area"]


def _write(folder: Path, name: str, frame: object) -> Path:
    path = folder / name
    frame.to_csv(path, index=False)  # type: ignore[attr-defined]
    stamp = time.time() + len(list(folder.iterdir()))  # the newest file is the window
    os.utime(path, (stamp, stamp))
    return path


def test_a_window_from_training_is_healthy_and_logged(cli, project: Path, production: Path,  # type: ignore[no-untyped-def]
                                                      tracking_uri: str) -> None:
    _write(production, "day1.csv", rows(project).sample(400, random_state=1))
    result = cli("watch", "--project", str(project), "--format", "json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    assert body["healthy"] is True and body["drifted"] == [] and body["version"] == "1"
    assert body["metrics"] and body["metrics"][0].startswith("roc_auc: ")
    verdicts = {g["name"]: g["verdict"] for g in body["gates"]}
    assert verdicts["primary metric holds on labelled windows"] in ("pass", "inconclusive")
    run = MlflowClient(tracking_uri).get_run(body["run_id"])
    assert run.data.tags["mlbot.trigger"] == "watch" and run.data.tags["mlbot.watch_version"] == "1"
    assert run.data.metrics["watch.drift_share"] == 0.0
    artifacts = {a.path for a in MlflowClient(tracking_uri).list_artifacts(body["run_id"], "watch")}
    assert artifacts == {"watch/profile.json", "watch/report.json"}


def test_shifted_features_fail_the_watch_and_are_named(cli, project: Path, production: Path) -> None:  # type: ignore[no-untyped-def]
    frame = rows(project).sample(400, random_state=2)
    for column in SHIFTED:
        frame[column] = frame[column] + frame[column].std()
    _write(production, "day2.csv", frame)
    result = cli("watch", "--project", str(project))
    assert result.code == 1, result.err
    assert "NEEDS ATTENTION" in result.out
    for column in SHIFTED:
        assert f"    {column}: KS" in result.out
    assert "FAIL         no feature drifted (block)" in result.out


def test_a_decayed_model_fails_the_metric_gate_with_its_interval(cli, project: Path, production: Path) -> None:  # type: ignore[no-untyped-def]
    frame = rows(project).sample(500, random_state=3)
    flip = np.random.default_rng(0).random(len(frame)) < 0.35  # the world changed: labels no longer follow
    frame.loc[flip, "label"] = 1 - frame.loc[flip, "label"]
    _write(production, "day3.csv", frame)
    body = json.loads(cli("watch", "--project", str(project), "--format", "json").out)
    gate = next(g for g in body["gates"] if g["name"] == "primary metric holds on labelled windows")
    assert gate["verdict"] == "fail" and "95% CI" in gate["reason"]
    assert body["healthy"] is False


def test_the_trend_holds_earlier_windows(cli, project: Path, production: Path) -> None:  # type: ignore[no-untyped-def]
    for day in range(3):
        _write(production, f"d{day}.csv", rows(project).sample(300, random_state=day))
        assert cli("watch", "--project", str(project)).code == 0
    body = json.loads(cli("watch", "--project", str(project), "--format", "json").out)
    assert len(body["trend"]) == 4 and body["trend"][-1]["run_id"] == body["run_id"]


def test_nothing_to_watch(cli, project: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("watch", "--project", str(project))
    assert result.code == 0 and "no `watch:` section" in result.err


def test_a_glob_matching_nothing_says_so(cli, project: Path, production: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("watch", "--project", str(project))
    assert result.code == 2  # a usage error: the configuration points nowhere
    assert "watch.data" in result.err and "matches no file" in result.err


def test_a_command_writes_the_window(cli, project: Path, production: Path) -> None:  # type: ignore[no-untyped-def]
    rows(project).sample(300, random_state=5).to_csv(production / "source.data", index=False)
    text = (project / "mlbot.yaml").read_text().replace(f'data: "{production}/*.csv"',
                                                        f'command: cp {production}/source.data "$MLBOT_WATCH_OUTPUT"')
    (project / "mlbot.yaml").write_text(text)
    result = cli("watch", "--project", str(project))
    assert result.code == 0, result.err
    assert "from `cp " in result.out


def test_post_keeps_one_issue_from_open_to_close(cli, project: Path, production: Path, sandbox,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path, monkeypatch) -> None:
    from tests.github.conftest import REPO

    event = tmp_path / "event.json"
    event.write_text("{}")
    for key, value in {"GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "schedule", "GITHUB_REPOSITORY": REPO,
                       "GITHUB_API_URL": sandbox.api_url, "GITHUB_TOKEN": sandbox.bot_token,
                       "MLBOT_BOT_LOGIN": "mlbot[bot]"}.items():
        monkeypatch.setenv(key, value)

    def window(name: str, shifted: bool, seed: int) -> object:
        frame = rows(project).sample(400, random_state=seed)
        for column in SHIFTED if shifted else []:
            frame[column] = frame[column] + frame[column].std()
        _write(production, name, frame)
        return cli("watch", "--project", str(project), "--post")

    def open_issues() -> list[object]:
        return [i for i in sandbox.github.store.issues.values() if i.state == "open"]

    assert window("a.csv", False, 1).code == 0 and open_issues() == []
    drifted = window("b.csv", True, 2)
    assert drifted.code == 1 and "opened the watch issue #" in drifted.err
    [issue] = open_issues()
    assert all(column in issue.body for column in SHIFTED)
    assert "updated the watch issue" in window("c.csv", True, 3).err and open_issues() == [issue]
    assert "updated the watch issue" in window("d.csv", False, 4).err
    assert "closed the watch issue" in window("e.csv", False, 5).err and open_issues() == []


def test_a_regression_model_is_watched_with_its_error_metrics(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    import pandas as pd

    root = Path(__file__).resolve().parents[2] / "examples" / "diabetes"
    project = tmp_path / "diabetes"
    shutil.copytree(root, project)
    trained = cli("train", "--project", str(project), "--sha", "d" * 40, "--branch", "main")
    assert trained.code == 0, trained.err
    promoted = cli("promote", "--project", str(project), "--run", trained.run_id, "--by", "alice", "--force",
                   "--reason", "a baseline to watch")
    assert promoted.code == 0, promoted.err
    frame = pd.concat([pd.read_csv(project / "data/train.csv"), pd.read_csv(project / "data/eval.csv")])
    window = tmp_path / "window.csv"
    frame.sample(200, random_state=0).to_csv(window, index=False)
    (project / "mlbot.yaml").write_text((project / "mlbot.yaml").read_text()
                                        + f'watch:\n  data: "{window}"\n  label: progression\n')
    body = json.loads(cli("watch", "--project", str(project), "--format", "json").out)
    assert body["healthy"] is True, body["gates"]
    assert [m.split(":")[0] for m in body["metrics"]] == ["rmse", "mae", "r2"]
    assert body["primary"] == "rmse" and body["primary_value"] > 0
