"""Fault injection: GitHub-shaped errors on demand, consumed a given number of times."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from github import Github, GithubException

from bot.sandbox import SandboxServer
from bot.sandbox.faults import SECONDARY_RATE_LIMIT
from tests.sandbox.conftest import REPO


def _fault(sandbox: SandboxServer, **spec: object) -> None:
    answer = httpx.post(f"{sandbox.api_url}/_sandbox/faults", json=spec)
    assert answer.status_code == 201, answer.text


def _open(sandbox: SandboxServer) -> int:
    sandbox.github.push_commit(REPO, "topic", {"a.txt": "a\n"}, "a", "alice")
    return sandbox.github.open_pull(REPO, "topic", "main", "Topic", "alice")


def test_a_502_twice_then_success(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    number = _open(sandbox)
    comment = client().get_repo(REPO).get_issue(number).create_comment("first")
    _fault(sandbox, method="PATCH", path_regex=r"/issues/comments/\d+$", status=502, times=2)
    for _ in range(2):
        with pytest.raises(GithubException) as failed:
            comment.edit("second")
        assert failed.value.status == 502
    comment.edit("second")
    assert sandbox.github.store.comment(REPO, comment.id).body == "second"


def test_secondary_rate_limit_looks_like_githubs(sandbox: SandboxServer) -> None:
    _fault(sandbox, method="GET", path_regex=f"^/repos/{REPO}$", status=403, times=1, retry_after=7,
           secondary_rate_limit=True)
    url = f"{sandbox.api_url}/repos/{REPO}"
    auth = {"Authorization": f"token {sandbox.bot_token}"}
    limited = httpx.get(url, headers=auth)
    assert limited.status_code == 403 and limited.headers["Retry-After"] == "7"
    assert limited.json()["message"] == SECONDARY_RATE_LIMIT
    assert "secondary rate limit" in limited.json()["message"]
    assert httpx.get(url, headers=auth).status_code == 200


def test_pygithub_retries_through_a_secondary_rate_limit(sandbox: SandboxServer) -> None:
    _fault(sandbox, method="GET", path_regex=f"^/repos/{REPO}$", times=1, retry_after=0,
           secondary_rate_limit=True)
    g = Github(base_url=sandbox.api_url, auth=None, seconds_between_requests=0, seconds_between_writes=0)
    assert g.get_repo(REPO).default_branch == "main"
    assert sandbox.github.faults.active() == []


def test_latency_only_and_clearing(sandbox: SandboxServer) -> None:
    _fault(sandbox, method="*", path_regex="/user$", status=None, latency_ms=20, times=1)
    answer = httpx.get(f"{sandbox.api_url}/user",
                       headers={"Authorization": f"token {sandbox.github.token_for('alice')}"})
    assert answer.status_code == 200 and answer.json()["login"] == "alice"
    _fault(sandbox, path_regex=".*", status=500, times=5)
    assert httpx.delete(f"{sandbox.api_url}/_sandbox/faults").json() == {"active": 0}
    assert httpx.get(f"{sandbox.api_url}/repos/{REPO}").status_code == 200


def test_a_bad_fault_is_refused(sandbox: SandboxServer) -> None:
    answer = httpx.post(f"{sandbox.api_url}/_sandbox/faults", json={"stauts": 502})
    assert answer.status_code == 422 and "stauts" in answer.json()["message"]
