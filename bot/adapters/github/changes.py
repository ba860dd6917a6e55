"""Changes the bot proposes itself: a branch, its files, and one pull request (the watch's `/retrain`).

Made through the contents API, one idempotent step at a time, so a job retried after a lost answer
finishes what the first try began: the branch is reused when it exists, a file is written only
when its blob differs, and an open pull request of the branch is found before one is opened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from github import Github, GithubException

from bot.adapters.github.convert import pull_request
from bot.adapters.github.once import Attempt, Plan
from bot.core.types import PullRequest

T = TypeVar("T")


def git_blob_sha(content: bytes) -> str:
    """The sha git (and GitHub's contents API) gives a file with `content`."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content, usedforsecurity=False).hexdigest()


def _current_sha(remote: Any, path: str, branch: str) -> str | None:
    try:
        found = remote.get_contents(path, ref=branch)
    except GithubException as error:
        if error.status == 404:
            return None
        raise
    return None if isinstance(found, list) else str(found.sha)


class Changes:
    """The change-proposing half of `GitHubForge` (it supplies `_call` and `_create`)."""

    if TYPE_CHECKING:
        def _call(self, repo: str, what: str, fn: Callable[[Github], T],
                  find: Callable[[Github], T | None] | None = None) -> T: ...

        def _create(self, repo: str, what: str, natural: Hashable, build: Callable[[Attempt], Plan[T]], *,
                    look_first: bool = False) -> T: ...

    def branch_sha(self, repo: str, branch: str) -> str:
        """The commit `branch` points at now."""
        return self._call(repo, f"GET /repos/{repo}/branches/{branch}",
                          lambda gh: str(gh.get_repo(repo).get_branch(branch).commit.sha))

    def clone_url(self, repo: str) -> str:
        """The repository's own clone URL."""
        return self._call(repo, f"GET /repos/{repo}", lambda gh: str(gh.get_repo(repo).clone_url))

    def propose_change(self, repo: str, *, base: str, base_sha: str, branch: str,
                       files: Mapping[str, bytes | None], message: str, title: str, body: str) -> PullRequest:
        """Commit `files` on `branch` (made from `base_sha` when missing) and open one pull request into `base`."""
        self._ensure_branch(repo, branch, base_sha)
        for path, content in sorted(files.items()):
            self._write_file(repo, branch, path, content, message)
        owner = repo.split("/", 1)[0]

        def find(gh: Github) -> PullRequest | None:
            for found in gh.get_repo(repo).get_pulls(state="open", head=f"{owner}:{branch}", base=base):
                return pull_request(repo, found)
            return None

        def build(attempt: Attempt) -> Plan[PullRequest]:
            del attempt  # the branch names the pull request across attempts
            return (lambda gh: pull_request(repo, gh.get_repo(repo).create_pull(base=base, head=branch, title=title,
                                                                                 body=body)), find)
        return self._create(repo, f"POST /repos/{repo}/pulls", ("pull", repo, branch), build, look_first=True)

    def _ensure_branch(self, repo: str, branch: str, sha: str) -> None:
        def ensure(gh: Github) -> None:
            try:
                gh.get_repo(repo).create_git_ref(f"refs/heads/{branch}", sha)
            except GithubException as error:
                if error.status != 422:  # "Reference already exists": an earlier try made it
                    raise
        self._call(repo, f"POST /repos/{repo}/git/refs", ensure)

    def _write_file(self, repo: str, branch: str, path: str, content: bytes | None, message: str) -> None:
        def write(gh: Github) -> None:
            remote = gh.get_repo(repo)
            current = _current_sha(remote, path, branch)
            if content is None:
                if current is not None:
                    remote.delete_file(path, message, current, branch=branch)
            elif current is None:
                remote.create_file(path, message, content, branch=branch)
            elif current != git_blob_sha(content):
                remote.update_file(path, message, content, current, branch=branch)
        # each try reads the file first, so a write whose answer was lost is not made twice
        self._call(repo, f"PUT /repos/{repo}/contents/{path}", write)
