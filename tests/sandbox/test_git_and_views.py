"""Real `git push` into the sandbox, pull requests from forks, Link headers, and the HTML view."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from github import Github

from bot.sandbox import SandboxServer
from tests.sandbox.conftest import REPO


def _git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com", "GIT_COMMITTER_NAME": "Alice",
           "GIT_COMMITTER_EMAIL": "alice@example.com", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_git_push_moves_the_pull_request(sandbox: SandboxServer, client: Callable[..., Github],
                                         tmp_path: Path) -> None:
    clone_url = client().get_repo(REPO).clone_url
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", clone_url, str(work)], check=True, capture_output=True)
    _git(work, "checkout", "-q", "-b", "tune")
    (work / "src" / "train.py").write_text("print('tuned')\n")
    _git(work, "commit", "-q", "-am", "Tune")
    _git(work, "push", "-q", "origin", "tune")
    number = sandbox.github.open_pull(REPO, "tune", "main", "Tune", "alice")
    (work / "src" / "train.py").write_text("print('tuned again')\n")
    _git(work, "commit", "-q", "-am", "Tune again")
    _git(work, "push", "-q", "origin", "tune")
    head = _git(work, "rev-parse", "HEAD")

    pull = client().get_repo(REPO).get_pull(number)
    assert pull.head.sha == head
    sandbox.github.wait_idle()
    sync = sandbox.github.deliveries("pull_request")[-1].payload
    assert (sync["action"], sync["after"], sync["pull_request"]["head"]["sha"]) == ("synchronize", head, head)


def test_pull_request_from_a_fork(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    fork = sandbox.github.fork(REPO, "eve/churn")
    sha = sandbox.github.push_commit(fork, "sneaky", {"src/train.py": "import os\n"}, "Sneaky", "eve")
    number = sandbox.github.open_pull(REPO, "sneaky", "main", "Innocent", "eve", from_fork=fork)
    pull = client().get_repo(REPO).get_pull(number)
    assert (pull.head.repo.full_name, pull.base.repo.full_name, pull.head.sha) == (fork, REPO, sha)
    assert [f.filename for f in pull.get_files()] == ["src/train.py"]
    again = sandbox.github.push_commit(fork, "sneaky", {"src/train.py": "import sys\n"}, "More", "eve")
    assert client().get_repo(REPO).get_pull(number).head.sha == again
    merged = sandbox.github.merge(REPO, number, "mona")
    assert sandbox.github.branch_sha(REPO, "main") == merged


def test_link_headers_page_like_github(sandbox: SandboxServer) -> None:
    sandbox.github.push_commit(REPO, "topic", {"a.txt": "a\n"}, "a", "alice")
    number = sandbox.github.open_pull(REPO, "topic", "main", "Topic", "alice")
    for i in range(250):
        sandbox.github.comment(REPO, number, f"c{i}", "bob")
    url = f"{sandbox.api_url}/repos/{REPO}/issues/{number}/comments"
    first = httpx.get(url, params={"per_page": 100})
    base = f"{url}?per_page=100&page="
    assert first.headers["Link"] == f'<{base}2>; rel="next", <{base}3>; rel="last"'
    last = httpx.get(url, params={"per_page": 100, "page": 3})
    assert last.headers["Link"] == f'<{base}2>; rel="prev", <{base}1>; rel="first"'
    assert [c["body"] for c in last.json()] == [f"c{i}" for i in range(200, 250)]
    assert len(httpx.get(url).json()) == 30  # GitHub's default page size


def test_the_conversation_page_renders_markdown_safely(sandbox: SandboxServer) -> None:
    sandbox.github.push_commit(REPO, "topic", {"a.txt": "a\n"}, "a", "alice")
    number = sandbox.github.open_pull(REPO, "topic", "main", "Topic <b>", "alice")
    body = ("| metric | value |\n|---|---|\n| auc | 0.99 |\n\n"
            "<details><summary>more</summary>x</details>\n<script>alert(1)</script>")
    sandbox.github.comment(REPO, number, body, "mlbot[bot]")
    page = httpx.get(f"{sandbox.api_url}/{REPO}/pull/{number}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<td>0.99</td>" in page.text and "<details>" in page.text
    assert "<script>" not in page.text and "Topic &lt;b&gt;" in page.text


def test_http_helpers_drive_the_sandbox_from_another_process(sandbox: SandboxServer) -> None:
    api = sandbox.api_url
    assert httpx.post(f"{api}/_sandbox/repos", json={"full_name": "acme/other",
                                                      "files": {"a.txt": "a\n"}}).status_code == 201
    pushed = httpx.post(f"{api}/_sandbox/commits", json={"repo": "acme/other", "branch": "b",
                                                          "files": {"a.txt": "b\n"}, "author": "alice"})
    opened = httpx.post(f"{api}/_sandbox/pulls", json={"repo": "acme/other", "head": "b", "author": "alice"})
    token = httpx.post(f"{api}/_sandbox/tokens", json={"login": "alice"}).json()["token"]
    httpx.post(f"{api}/_sandbox/roles", json={"repo": "acme/other", "login": "alice", "role": "triage"})
    pull = httpx.get(f"{api}/repos/acme/other/pulls/{opened.json()['number']}",
                     headers={"Authorization": f"token {token}"}).json()
    assert pull["head"]["sha"] == pushed.json()["sha"] and pull["user"]["login"] == "alice"
    assert sandbox.github.store.role("acme/other", "alice") == "triage"
