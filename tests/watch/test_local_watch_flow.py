"""The scheduled watch on the local runner, end to end: `mlbot serve`'s job clones the default branch from the
sandbox GitHub, runs the real `mlbot watch` against MLflow on SQLite, and keeps the watch issue over HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from mlflow import MlflowClient

from bot.adapters.github.client import GitHubForge
from bot.adapters.runners import LocalRunner
from bot.core.errors import Transient
from bot.core.types import RefreshJob, WatchJob
from bot.core.watch_report import WatchSummary
from bot.sandbox import SandboxServer
from bot.usecases.watch_schedule import run_watch, schedule_watch
from tests.handlers.fakes import context
from tests.watch.conftest import rows
from tests.watch.test_watch_flow import SHIFTED, _write

REPO = "acme/bc"


@pytest.fixture
def default_branch(project: Path, production: Path, sandbox: SandboxServer) -> Path:
    """The promoted example, `watch:` included, pushed as acme/bc's default branch; its bare repository.

    Its data refresh appends the newest production window (labelled) to the training data.
    """
    refresh = f'  refresh: tail -n +2 "$(ls -t {production}/*.csv | head -n 1)" >> data/train.csv\n'
    (project / "mlbot.yaml").write_text((project / "mlbot.yaml").read_text() + refresh)
    files = {str(p.relative_to(project)): p.read_bytes() for p in project.rglob("*")
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(project).parts)}
    sandbox.github.create_repo(REPO, files)
    path: Path = sandbox.github.store.repo(REPO).path
    return path


def drifted_window(project: Path, production: Path, name: str, seed: int) -> None:
    frame = rows(project).sample(400, random_state=seed)
    for column in SHIFTED:
        frame[column] = frame[column] + frame[column].std()
    _write(production, name, frame)


@pytest.mark.slow
def test_a_drifted_window_opens_the_issue_naming_the_features(
        project: Path, production: Path, default_branch: Path, forge: GitHubForge, sandbox: SandboxServer,
        tracking_uri: str, tmp_path: Path) -> None:
    drifted_window(project, production, "day1.csv", seed=2)
    runner = LocalRunner(clone_url=str(default_branch), tracking_uri=tracking_uri, cwd=tmp_path, timeout=120,
                         secrets=[sandbox.bot_token])
    ctx = replace(context(), forge=forge, runners={"local": runner})

    job = schedule_watch(ctx, REPO, datetime(2026, 12, 6, 6, 1))
    assert job is not None
    run_watch(ctx, job)

    [issue] = [i for i in sandbox.github.store.issues.values() if i.state == "open"]
    assert issue.title == "mlbot watch: breast-cancer@production needs attention"
    assert issue.body is not None and all(column in issue.body for column in SHIFTED)
    [monitoring] = MlflowClient(tracking_uri).search_runs(
        [MlflowClient(tracking_uri).get_experiment_by_name("breast-cancer").experiment_id],
        "tags.`mlbot.trigger` = 'watch'")
    assert monitoring.data.tags["mlbot.watch_healthy"] == "false" and monitoring.info.run_id in issue.body


@pytest.mark.slow
def test_the_runner_alone_returns_the_summary_and_a_refresh_returns_the_new_training_data(
        project: Path, production: Path, default_branch: Path, tracking_uri: str, tmp_path: Path) -> None:
    drifted_window(project, production, "day2.csv", seed=3)
    runner = LocalRunner(clone_url=str(default_branch), tracking_uri=tracking_uri, cwd=tmp_path, timeout=120)

    outcome = runner.watch(WatchJob(REPO, "main", "main", "2026-12-06T06:00Z"))

    assert outcome.ok and outcome.summary is not None, outcome.log_tail
    summary = WatchSummary.from_json(outcome.summary)
    assert not summary.healthy and summary.version == "1"
    assert {phrase.split(":")[0] for phrase in summary.drifted} >= set(SHIFTED)
    assert "NEEDS ATTENTION" in outcome.log_tail  # the text report, for people reading the log

    refreshed = runner.refresh(RefreshJob(REPO, "main", "main", issue=1, by="mona", comment_id=7))

    assert refreshed.ok, refreshed.message
    assert list(refreshed.files) == ["data/train.csv"]
    before = (project / "data" / "train.csv").read_bytes()
    window = (production / "day2.csv").read_bytes()
    assert refreshed.files["data/train.csv"] == before + window.split(b"\n", 1)[1]


@pytest.mark.slow
def test_mlflow_out_of_reach_makes_the_real_watch_transient(tmp_path: Path) -> None:
    from tests.reliability.test_mlflow_down import free_port
    from tests.watch.test_local_runner import WATCH, make_origin

    origin, _ = make_origin(tmp_path, WATCH)
    runner = LocalRunner(clone_url=str(origin), tracking_uri=f"http://127.0.0.1:{free_port()}", cwd=tmp_path,
                         timeout=120)
    with pytest.raises(Transient) as raised:  # `mlbot watch --tempfail-exit` exited 75: the queue tries later
        runner.watch(WatchJob("acme/churn", "main", "main", "2026-12-06T06:00Z"))
    assert raised.value.dependency == "MLflow" and "unreachable" in raised.value.message
