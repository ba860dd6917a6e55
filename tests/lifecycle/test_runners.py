"""Runners: Actions dispatch inputs, and the local runner's checkout, scrubbed environment and limits."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.adapters.runners import ActionsRunner, LocalRunner, parse_run_id, train_argv
from bot.ports import TrainingJob
from tests.lifecycle.helpers import git


@dataclass
class Origin:
    url: str
    main_sha: str
    pr_sha: str  # reachable only through refs/pull/7/head, like a fork's head


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    """A bare repository with `main` and a pull request head that lives on no branch."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    (work / "model.txt").write_text("v1\n")
    git(work, "add", "model.txt")
    git(work, "commit", "-q", "-m", "v1")
    main_sha = git(work, "rev-parse", "HEAD")
    git(work, "checkout", "-q", "-b", "fork")
    (work / "model.txt").write_text("v2 from a fork\n")
    git(work, "commit", "-q", "-am", "v2")
    pr_sha = git(work, "rev-parse", "HEAD")
    bare = tmp_path / "acme" / "models.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(work, "push", "-q", str(bare), "main", f"{pr_sha}:refs/pull/7/head")
    return Origin(str(tmp_path / "{repo}.git"), main_sha, pr_sha)


# The stand-in for `mlbot train`: records what it saw, prints the run id line the runner parses.
RECORDER = textwrap.dedent("""
    import json, os, subprocess, sys
    args = sys.argv[1:]
    project = args[args.index("--project") + 1]
    remotes = subprocess.run(["git", "remote"], cwd=project, capture_output=True, text=True).stdout
    with open(os.environ["RECORD_TO"], "w") as out:
        json.dump({"args": args, "env": sorted(os.environ), "cwd": os.getcwd(),
                   "model": open(os.path.join(project, "model.txt")).read(),
                   "tracking": os.environ.get("MLFLOW_TRACKING_URI"), "remotes": remotes}, out)
    print("training...")
    print("run_id=0123abcd")
""")


def job(sha: str, *, pr: int | None = 7, params: Mapping[str, object] | None = None) -> TrainingJob:
    return TrainingJob(repo="acme/models", sha=sha, pr=pr, branch="feature/x", trigger="command",
                       params=dict(params or {}))


def test_local_runner_trains_a_fork_head_with_a_scrubbed_environment(
    origin: Origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = tmp_path / "record.json"
    for secret in ("MLBOT_GITHUB_TOKEN", "MLBOT_GITHUB_PRIVATE_KEY", "MLBOT_WEBHOOK_SECRET", "GITHUB_TOKEN"):
        monkeypatch.setenv(secret, "s3cret")
    monkeypatch.setenv("RECORD_TO", str(record))
    runner = LocalRunner(clone_url=origin.url, tracking_uri="sqlite:////tmp/x.db", cwd=tmp_path,
                         command=[sys.executable, "-c", RECORDER])

    outcome = runner.dispatch(job(origin.pr_sha, params={"n_estimators": 300}))

    assert (outcome.ok, outcome.run_id) == (True, "0123abcd"), outcome
    assert outcome.log_tail == "training...\nrun_id=0123abcd"
    seen = json.loads(record.read_text())
    assert seen["model"] == "v2 from a fork\n"
    assert seen["remotes"] == ""  # the clone URL (and any credentials in it) is gone
    assert seen["tracking"] == "sqlite:////tmp/x.db"
    assert seen["cwd"] == str(tmp_path)
    assert "RECORD_TO" in seen["env"]
    assert not [k for k in seen["env"] if k.startswith(("MLBOT_GITHUB", "MLBOT_WEBHOOK", "GITHUB_TOKEN"))]
    project = Path(seen["args"][seen["args"].index("--project") + 1])
    assert not project.exists()  # the throwaway checkout is removed afterwards
    assert seen["args"][:2] == ["train", "--project"]
    assert seen["args"][3:] == ["--repo", "acme/models", "--sha", origin.pr_sha, "--branch", "feature/x",
                                "--trigger", "command", "--params", '{"n_estimators": 300}', "--pr", "7"]


def test_local_runner_reports_a_failing_training(origin: Origin, tmp_path: Path) -> None:
    script = "import sys; print('loading data'); print('KeyError: label', file=sys.stderr); sys.exit(3)"
    runner = LocalRunner(clone_url=origin.url, tracking_uri="sqlite://", cwd=tmp_path,
                         command=[sys.executable, "-c", script])
    outcome = runner.dispatch(job(origin.main_sha, pr=None))
    assert (outcome.ok, outcome.run_id, outcome.message) == (False, None, "Training exited with code 3.")
    assert outcome.log_tail == "loading data\nKeyError: label"


def test_local_runner_needs_a_run_id(origin: Origin, tmp_path: Path) -> None:
    runner = LocalRunner(clone_url=origin.url, tracking_uri="sqlite://", cwd=tmp_path,
                         command=[sys.executable, "-c", "print('done')"])
    outcome = runner.dispatch(job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (False, "Training finished but did not report an MLflow run id.")


def test_local_runner_stops_the_whole_process_group_on_timeout(origin: Origin, tmp_path: Path) -> None:
    # the grandchild keeps stdout open: unless the group is killed, reading the output would hang
    script = ("import subprocess, sys, time; print('started', flush=True); "
              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)")
    runner = LocalRunner(clone_url=origin.url, tracking_uri="sqlite://", cwd=tmp_path, timeout=1.0,
                         command=[sys.executable, "-c", script])
    outcome = runner.dispatch(job(origin.main_sha))
    assert (outcome.ok, outcome.message) == (False, "Training timed out after 1 s and was stopped.")
    assert outcome.log_tail == "started"


def test_local_runner_explains_an_unknown_commit(origin: Origin, tmp_path: Path) -> None:
    runner = LocalRunner(clone_url=origin.url, tracking_uri="sqlite://", cwd=tmp_path,
                         command=[sys.executable, "-c", "raise SystemExit('must not run')"])
    outcome = runner.dispatch(job("f" * 40))
    assert (outcome.ok, outcome.message) == (False, "I could not check out fffffff of acme/models.")
    assert outcome.log_tail.startswith("git checkout: ")


def test_clone_errors_hide_credentials(tmp_path: Path) -> None:
    runner = LocalRunner(clone_url="http://x-access-token:ghs_secret@127.0.0.1:9/{repo}.git",
                         tracking_uri="sqlite://", cwd=tmp_path, command=[sys.executable, "-c", "pass"])
    outcome = runner.dispatch(job("a" * 40))
    assert not outcome.ok
    assert outcome.log_tail.startswith("git clone: ")
    assert "ghs_secret" not in outcome.log_tail


@pytest.mark.parametrize(
    ("output", "run_id"),
    [
        ("run_id=abc\n", "abc"),
        ("noise\nrun_id=first\nmore\nrun_id=second\n", "second"),
        ("the run_id=abc is inline\n", None),
        ("run_id=\n", None),
        ("", None),
    ],
)
def test_parse_run_id(output: str, run_id: str | None) -> None:
    assert parse_run_id(output) == run_id


def test_train_argv_for_a_manual_run() -> None:
    argv = train_argv(job("c" * 40, pr=None), Path("/tmp/p"))
    assert argv == ["train", "--project", "/tmp/p", "--repo", "acme/models", "--sha", "c" * 40,
                    "--branch", "feature/x", "--trigger", "command", "--params", "{}"]


class RecordingForge:
    """Records `dispatch_workflow` calls (the only Forge method ActionsRunner uses)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, str]]] = []

    def dispatch_workflow(self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        self.calls.append((repo, workflow, ref, dict(inputs)))


def test_actions_runner_dispatches_on_the_default_branch_with_the_sha_as_input() -> None:
    forge = RecordingForge()
    pr_job = TrainingJob(repo="acme/models", sha="d" * 40, pr=12, branch="feat", params={"max_depth": None,
                         "n_estimators": 50}, default_branch="trunk", workflow="train.yml")
    assert ActionsRunner(forge).dispatch(pr_job) is None  # type: ignore[arg-type]
    params = '{"max_depth": null, "n_estimators": 50}'
    inputs = {"sha": "d" * 40, "pr": "12", "params": params}
    assert forge.calls == [("acme/models", "train.yml", "trunk", inputs)]
