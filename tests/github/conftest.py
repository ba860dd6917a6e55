"""Fixtures: a running sandbox with one repository and one pull request, and forges that talk to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.adapters.github.auth import TokenCredentials
from bot.adapters.github.client import GitHubForge
from bot.adapters.github.retry import RetryPolicy
from bot.sandbox import SandboxServer
from bot.sandbox.faults import Fault

REPO = "acme/churn"
BOT = "mlbot[bot]"
MARKER = "<!-- mlbot:report model=churn -->"
WORKFLOW = """name: mlbot train
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
    "mlbot.yaml": "model: churn\n",
    "policies/default.yaml": "gates: []\n",
    "policies/strict.yaml": "gates: []\n",
    "policies/nested/deep.yaml": "gates: []\n",
    ".github/workflows/mlbot-train.yml": WORKFLOW,
}
# Tiny waits so retries finish in milliseconds; the bounds are what is under test.
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_wait=5.0, secondary_delay=0.01,
                   jitter=0.0)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """`acme/churn` (mona: maintain, alice: write, tom: triage) with PR #1 by alice."""
    with SandboxServer(tmp_path / "sandbox") as server:
        server.github.create_repo(REPO, FILES)
        server.github.set_role(REPO, "mona", "maintain")
        server.github.set_role(REPO, "alice", "write")
        server.github.set_role(REPO, "tom", "triage")
        server.github.push_commit(REPO, "feature", {"src/model.py": "print(1)\n", "README.md": "# churn!\n"},
                                  "Tune the model", "alice")
        server.github.open_pull(REPO, "feature", "main", "Tune the model", "alice")
        yield server


@pytest.fixture
def make_forge(sandbox: SandboxServer) -> Iterator[Callable[..., GitHubForge]]:
    """Forges over the bot's token with tiny retry waits; closed at the end."""
    made: list[GitHubForge] = []

    def make(policy: RetryPolicy = FAST, token: str | None = None,
             bot_login: str | None = None) -> GitHubForge:
        forge = GitHubForge(sandbox.api_url, TokenCredentials(token or sandbox.bot_token),
                            bot_login=bot_login, policy=policy)
        made.append(forge)
        return forge

    yield make
    for forge in made:
        forge.close()


@pytest.fixture
def forge(make_forge: Callable[..., GitHubForge]) -> GitHubForge:
    return make_forge()


def inject(sandbox: SandboxServer, **fields: object) -> Fault:
    """Add a fault to the sandbox and return it (its `hits` count how often it fired)."""
    fault = Fault.from_json(dict(fields))
    sandbox.github.faults.add(fault)
    return fault
