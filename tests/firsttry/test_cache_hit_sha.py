"""After a run-cache hit on a new commit, every `--sha` of that commit finds the reused run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.mlflow.tracker import MlflowTracker
from tests.training.conftest import Cli, copy_example

FIRST, SECOND = "1" * 40, "2" * 40
SMALL = ("--param", "n_estimators=10")


@pytest.fixture
def reused(cli: Cli, tmp_path: Path, tracking_uri: str) -> tuple[Path, str]:
    """A project trained on FIRST, then `mlbot train` on SECOND reusing that run."""
    project = copy_example("breast-cancer", tmp_path / "repo")
    first = cli("train", "--project", str(project), "--sha", FIRST, *SMALL)
    again = cli("train", "--project", str(project), "--sha", SECOND, *SMALL)
    assert again.code == 0 and again.run_id == first.run_id and "reused run" in again.out
    return project, first.run_id


def test_report_and_gates_find_the_reused_run_by_the_new_sha(cli: Cli, reused: tuple[Path, str]) -> None:
    project, run_id = reused
    for command in ("report", "gates"):
        for sha in (SECOND, SECOND[:7]):
            result = cli(command, "--project", str(project), "--sha", sha)
            assert "no finished run" not in result.err, result.err
            assert result.code == 0, result.err
    report = cli("report", "--project", str(project), "--sha", SECOND, "--format", "json")
    assert run_id in report.out


def test_promote_finds_the_reused_run_by_the_new_sha(cli: Cli, reused: tuple[Path, str]) -> None:
    project, _ = reused
    promoted = cli("promote", "--project", str(project), "--sha", SECOND, "--by", "ana")
    assert promoted.code == 0, promoted.err
    assert "promoted breast-cancer v1 to production (first promotion)" in promoted.out


def test_the_tracker_the_workflow_reports_through_finds_both_commits(reused: tuple[Path, str],
                                                                     tracking_uri: str) -> None:
    _, run_id = reused
    tracker = MlflowTracker(tracking_uri)  # what `report --post` and the bot's handlers ask
    assert tracker.find_run("breast-cancer", FIRST) == run_id
    assert tracker.find_run("breast-cancer", SECOND) == run_id
    assert tracker.find_run("breast-cancer", "3" * 40) is None


def test_a_second_hit_on_the_same_commit_records_it_once(cli: Cli, reused: tuple[Path, str],
                                                         tracking_uri: str) -> None:
    project, run_id = reused
    cli("train", "--project", str(project), "--sha", SECOND, *SMALL)
    record = MlflowTracker(tracking_uri).load_run_record(run_id)
    assert record.tags["mlbot.shas"] == f",{SECOND},"
    assert record.tags["mlbot.sha"] == FIRST


def test_the_cheap_probe_knows_every_commit_so_a_repeat_hit_writes_nothing(reused: tuple[Path, str],
                                                                          tracking_uri: str) -> None:
    from bot.adapters.mlflow.probe import probe

    _, run_id = reused
    record = MlflowTracker(tracking_uri).load_run_record(run_id)
    found = probe(tracking_uri, "breast-cancer", record.tags["mlbot.cache_key"], "breast-cancer", "production")
    assert found is not None and found.run_id == run_id
    assert found.shas == {FIRST, SECOND}  # a third `mlbot train --sha SECOND` needs no MLflow client
