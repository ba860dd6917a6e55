"""Both runners against the sandbox: PyGithub dispatches the workflow; a fork's head is checked out."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.github.auth import TokenCredentials
from bot.adapters.github.client import GitHubForge
from bot.adapters.runners import ActionsRunner, LocalRunner
from bot.core.errors import ForgeError
from bot.ports import TrainingJob
from bot.sandbox import SandboxServer
from tests.sandboxing import bwrap

__all__ = ["bwrap"]

REPO = "acme/models"
WORKFLOW = (Path(__file__).resolve().parents[2] / "bot" / "scaffold" / "mlbot-train.yml").read_text()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """`acme/models` with the scaffolded training workflow, and a fork by outsider `eve`."""
    with SandboxServer(tmp_path / "sandbox") as server:
        server.github.create_repo(REPO, {"mlbot.yaml": "model: m\n", "model.txt": "base\n",
                                         ".github/workflows/mlbot-train.yml": WORKFLOW})
        yield server


def forge(sandbox: SandboxServer) -> GitHubForge:
    return GitHubForge(sandbox.api_url, TokenCredentials(sandbox.bot_token))


def test_actions_runner_dispatches_the_default_branch_workflow(sandbox: SandboxServer) -> None:
    # the PR's own copy of the workflow is never what runs: dispatch uses the default branch
    sandbox.github.push_commit(REPO, "evil", {".github/workflows/mlbot-train.yml": "name: pwned\non: push\n"})
    head = sandbox.github.branch_sha(REPO, "evil")
    assert head is not None
    job = TrainingJob(repo=REPO, sha=head, pr=3, branch="evil", trigger="command",
                      params={"max_depth": 4}, default_branch="main")

    assert ActionsRunner(forge(sandbox)).dispatch(job) is None

    [run] = sandbox.github.dispatches(REPO)
    assert (run.ref, run.head_sha) == ("main", sandbox.github.branch_sha(REPO, "main"))
    assert run.inputs == {"sha": head, "pr": "3", "params": json.dumps({"max_depth": 4})}


def test_actions_runner_reports_a_missing_workflow(sandbox: SandboxServer) -> None:
    job = TrainingJob(repo=REPO, sha="a" * 40, pr=1, branch="x", workflow="nope.yml")
    with pytest.raises(ForgeError) as raised:
        ActionsRunner(forge(sandbox)).dispatch(job)
    assert "nope.yml" in raised.value.message
    assert sandbox.github.dispatches(REPO) == []


@pytest.mark.usefixtures("bwrap")
def test_local_runner_checks_out_a_fork_pull_request(sandbox: SandboxServer, tmp_path: Path) -> None:
    fork = sandbox.github.fork(REPO, "eve/models")
    sha = sandbox.github.push_commit(fork, "idea", {"model.txt": "from the fork\n"}, author="eve")
    number = sandbox.github.open_pull(REPO, "idea", "main", "Try this", "eve", from_fork=fork)
    fit = ("import sys; args = sys.argv[1:]; "
           "print(open(args[args.index('--project') + 1] + '/model.txt').read().strip())")
    runner = LocalRunner(clone_url=str(sandbox.github.state_dir / "repos" / "{repo}.git"),
                         tracking_uri="sqlite://", cwd=tmp_path, fit_command=[sys.executable, "-c", fit],
                         evaluate_command=[sys.executable, "-c", "print('run_id=r1')"])

    outcome = runner.dispatch(TrainingJob(repo=REPO, sha=sha, pr=number, branch="idea"))

    assert (outcome.ok, outcome.run_id, outcome.log_tail) == (True, "r1", "from the fork\nrun_id=r1")
