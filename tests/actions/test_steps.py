"""The workflow's and the fit/evaluate actions' shell steps, run for real against `mlbot fit` and `mlbot evaluate`."""

from __future__ import annotations

import os
import shutil
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


def workspace(tmp_path: Path, repo: Path, name: str) -> Path:
    """An Actions workspace laid out as the evaluate job checks it out: head/ and base/."""
    root = tmp_path / name
    shutil.copytree(repo, root / "head", ignore=shutil.ignore_patterns(".git"))
    (root / "base").mkdir()
    shutil.copy(repo / "mlbot.yaml", root / "base" / "mlbot.yaml")
    shutil.copytree(repo / "policies", root / "base" / "policies")
    return root


def test_the_workflow_fits_without_secrets_then_evaluates(project: tuple[Path, str], tmp_path: Path) -> None:
    import mlflow

    repo, sha = project
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    jobs = load(ROOT / ".github/workflows/mlbot-train.yml")["jobs"]
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()

    fit = step(jobs["fit"]["steps"], "Fit")
    assert set(fit["env"]) == {"PARAMS"}
    done = run_step(fit["run"], repo, {"PARAMS": '{"n_estimators": 20}', "RUNNER_TEMP": str(runner_temp)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (runner_temp / "mlbot-model").iterdir()) == ["fit.json", "model.skops"]

    common = {"SHA": sha, "PR": "7", "BRANCH": "faster", "REPO": "acme/credit",
              "PARAMS": '{"n_estimators": 20}',
              "CI_URL": "https://github.com/acme/credit/actions/runs/1", "MLFLOW_TRACKING_URI": tracking}
    evaluate = step(jobs["evaluate"]["steps"], "Evaluate")
    assert set(evaluate["env"]) - {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD",
                                   "MLFLOW_TRACKING_TOKEN"} == {*common, "TRIGGER"}
    done = run_step(evaluate["run"], workspace(tmp_path, repo, "ws"),
                    {**common, "TRIGGER": "pull_request", "RUNNER_TEMP": str(runner_temp)})
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.split("run_id=")[-1].strip()
    tags = mlflow.MlflowClient(tracking).get_run(run_id).data.tags
    assert (tags["mlbot.sha"], tags["mlbot.pr"], tags["mlbot.repo"]) == (sha, "7", "acme/credit")
    assert (tags["mlbot.branch"], tags["mlbot.trigger"]) == ("faster", "pull_request")
    assert tags["mlbot.ci_url"] == common["CI_URL"]


def test_the_fit_and_evaluate_actions_drive_the_two_stages(project: tuple[Path, str], tmp_path: Path) -> None:
    repo, sha = project
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    fit = step(load(ROOT / "actions/fit/action.yml")["runs"]["steps"], "Fit")
    done = run_step(fit["run"], repo, {"PARAMS": "{}", "RUNNER_TEMP": str(runner_temp)})
    assert done.returncode == 0, done.stdout + done.stderr

    action = step(load(ROOT / "actions/evaluate/action.yml")["runs"]["steps"], "Evaluate")
    output = tmp_path / "github_output"
    env = {"SHA": sha, "PR": "", "BRANCH": "", "TRIGGER": "manual", "PARAMS": "{}", "PROJECT": "head",
           "CONFIG": "base/mlbot.yaml", "POLICIES": "base/policies", "REPO": "acme/credit", "CI_URL": "https://ci/1",
           "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(runner_temp),
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    assert set(action["env"]) == set(env) - {"GITHUB_OUTPUT", "RUNNER_TEMP", "MLFLOW_TRACKING_URI"}
    done = run_step(action["run"], workspace(tmp_path, repo, "ws"), env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = output.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("run-id=") and len(lines[0]) > len("run-id=")
