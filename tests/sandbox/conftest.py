"""Fixtures: a running sandbox with one repository, and PyGithub clients acting as its users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from github import Auth, Github

from bot.sandbox import SandboxServer

REPO = "acme/churn"
WORKFLOW = """name: mlbot train
run-name: mlbot train ${{ inputs.sha }} (PR ${{ inputs.pr }})
on:
  workflow_dispatch:
    inputs:
      sha: {required: true}
      pr: {required: false}
jobs:
  train: {runs-on: ubuntu-latest, steps: [{run: echo}]}
"""
FILES = {
    "README.md": "# churn\n",
    "mlbot.yaml": "model: churn\ntask: classification\n",
    "src/train.py": "print('train')\n",
    "data/train.csv": "a,label\n1,0\n2,1\n",
    ".github/workflows/mlbot-train.yml": WORKFLOW,
}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox with `acme/churn` (alice: write, mona: maintain) and nothing delivered yet."""
    with SandboxServer(tmp_path / "sandbox", webhook_secret="s3cret") as server:
        server.github.create_repo(REPO, FILES)
        server.github.set_role(REPO, "alice", "write")
        server.github.set_role(REPO, "mona", "maintain")
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Callable[[str | None], Github]:
    """PyGithub as a given login (None: the bot), with PyGithub's pauses off."""

    def make(login: str | None = None) -> Github:
        token = sandbox.bot_token if login is None else sandbox.github.token_for(login)
        return Github(base_url=sandbox.api_url, auth=Auth.Token(token), seconds_between_requests=0,
                      seconds_between_writes=0, retry=None)

    return make
