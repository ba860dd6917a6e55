"""The workflow's and the train action's shell steps, run for real against `mlbot train`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .cli import run
from .lint import ROOT, load

SHA_LEN = 40


def step(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The step whose name starts with `name`."""
    return next(s for s in steps if str(s.get("name", "")).startswith(name))


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a `run:` script the way Actions does for `shell: bash` (bash -eo pipefail)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLBOT_"))}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env={**base, "PATH": path, **env}, capture_output=True, text=True, timeout=300,
                          check=False)


@pytest.fixture
def project(repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """An initialised, committed repository; returns it and its head sha."""
    assert run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")[0] == 0
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "mlbot init"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    return repo, sha.strip()


def test_the_workflow_and_the_train_action_drive_mlbot_train(
    project: tuple[Path, str], tmp_path: Path
) -> None:
    import mlflow

    repo, sha = project
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    common = {"SHA": sha, "PR": "7", "BRANCH": "faster", "REPO": "acme/credit",
              "PARAMS": '{"n_estimators": 20}',
              "CI_URL": "https://github.com/acme/credit/actions/runs/1", "MLFLOW_TRACKING_URI": tracking}

    train = step(load(ROOT / ".github/workflows/mlbot-train.yml")["jobs"]["train"]["steps"], "Train")
    assert set(train["env"]) - {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                                "MLFLOW_TRACKING_TOKEN"} == {*common, "TRIGGER"}
    done = run_step(train["run"], repo, {**common, "TRIGGER": "pull_request"})
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.split("run_id=")[-1].strip()
    tags = mlflow.MlflowClient(tracking).get_run(run_id).data.tags
    assert (tags["mlbot.sha"], tags["mlbot.pr"], tags["mlbot.repo"]) == (sha, "7", "acme/credit")
    assert (tags["mlbot.branch"], tags["mlbot.trigger"]) == ("faster", "pull_request")
    assert tags["mlbot.ci_url"] == common["CI_URL"]

    action = step(load(ROOT / "actions/train/action.yml")["runs"]["steps"], "Train")
    output = tmp_path / "github_output"
    env = {**common, "TRIGGER": "command", "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(tmp_path)}
    assert set(action["env"]) == {*common, "TRIGGER"} - {"MLFLOW_TRACKING_URI"}
    done = run_step(action["run"], repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = output.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run-id=") and len(lines[0]) > len("run-id=")
