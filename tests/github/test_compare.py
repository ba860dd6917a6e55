"""`GitHubForge.compare` against the sandbox: GitHub's compare status and counts, through the retries."""

from __future__ import annotations

import pytest

from bot.adapters.github.client import GitHubForge
from bot.core.errors import ForgeError
from bot.ports import CommitComparison
from bot.sandbox import SandboxServer
from tests.github.conftest import REPO, inject


def test_compare_tells_whether_head_contains_base(sandbox: SandboxServer, forge: GitHubForge) -> None:
    gh = sandbox.github
    start, feature = gh.branch_sha(REPO, "main"), gh.branch_sha(REPO, "feature")
    assert start and feature
    assert forge.compare(REPO, start, feature) == CommitComparison("ahead", 1, 0)
    assert forge.compare(REPO, feature, start) == CommitComparison("behind", 0, 1)
    assert forge.compare(REPO, feature, feature) == CommitComparison("identical", 0, 0)
    assert forge.compare(REPO, "main", "feature").head_contains_base  # branch names work too

    moved = gh.push_commit(REPO, "main", {"NOTES.md": "main moved\n"}, "Move main", "mona")
    assert forge.compare(REPO, feature, moved) == CommitComparison("diverged", 1, 1)
    merge = gh.merge(REPO, 1, by="mona")
    # the merge commit holds the PR's head plus what main gained meanwhile: two commits beyond the head
    assert forge.compare(REPO, feature, merge) == CommitComparison("ahead", 2, 0)
    assert forge.compare(REPO, moved, merge) == CommitComparison("ahead", 2, 0)  # the PR commit + the merge
    assert not forge.compare(REPO, merge, feature).head_contains_base


def test_compare_retries_a_502_and_names_an_unknown_commit(sandbox: SandboxServer, forge: GitHubForge) -> None:
    fault = inject(sandbox, method="GET", path_regex=r"/compare/", status=502, times=1)
    assert forge.compare(REPO, "main", "feature").status == "ahead"
    assert fault.hits == 1
    with pytest.raises(ForgeError) as raised:
        forge.compare(REPO, "main", "f" * 40)
    assert raised.value.status == 404
