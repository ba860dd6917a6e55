"""The sandbox's records: plain dataclasses in memory, guarded by one lock in `Store`."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

ROLES = ("admin", "maintain", "write", "triage", "read")


def now() -> str:
    """The current UTC time as GitHub prints it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Owned(Protocol):
    @property
    def repo(self) -> str: ...


R = TypeVar("R", bound=_Owned)


def owned(records: Mapping[int, R], key: int, repo: str) -> R:
    """The record `key` if it belongs to `repo`, else GitHub's 404."""
    found = records.get(key)
    if found is None or found.repo.lower() != repo.lower():
        raise ApiError(404, "Not Found")
    return found


class ApiError(Exception):
    """An HTTP error answer shaped like GitHub's ({"message", "documentation_url"})."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.errors = errors


@dataclass
class User:
    login: str
    id: int
    kind: str = "User"  # User | Bot | Organization


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str
    private: bool
    path: Path
    created_at: str
    fork_of: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    pushed_at: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Pull:
    id: int
    number: int
    repo: str
    head_repo: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    title: str
    body: str | None
    author: str
    created_at: str
    updated_at: str
    draft: bool = False
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    merged_at: str | None = None
    closed_at: str | None = None


@dataclass
class Issue:
    """A plain issue (not a pull request); numbers are shared with the repository's pull requests."""

    id: int
    number: int
    repo: str
    title: str
    body: str | None
    author: str
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None


@dataclass
class Reaction:
    id: int
    content: str
    user: str
    created_at: str


@dataclass
class IssueComment:
    id: int
    repo: str
    number: int
    author: str
    body: str
    created_at: str
    updated_at: str
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    output: dict[str, Any]
    details_url: str | None
    external_id: str | None
    app_owner: str


@dataclass
class Status:
    id: int
    repo: str
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str


@dataclass
class Review:
    id: int
    repo: str
    number: int
    user: str
    state: str  # REST spelling: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    body: str
    commit_id: str
    submitted_at: str


@dataclass
class WorkflowRun:
    id: int
    repo: str
    workflow_id: int
    workflow_path: str
    workflow_name: str
    ref: str
    head_sha: str
    inputs: dict[str, Any]
    actor: str
    display_title: str
    run_number: int
    created_at: str
    updated_at: str
    status: str = "queued"
    conclusion: str | None = None


@dataclass
class DeploymentStatus:
    id: int
    state: str
    description: str
    environment_url: str
    log_url: str
    creator: str
    created_at: str


@dataclass
class Deployment:
    id: int
    repo: str
    sha: str
    ref: str
    task: str
    environment: str
    description: str | None
    payload: Any
    creator: str
    created_at: str
    statuses: list[DeploymentStatus] = field(default_factory=list)


@dataclass
class Tag:
    sha: str
    tag: str
    message: str
    object_sha: str
    object_type: str
    tagger_name: str
    tagger_email: str
    date: str


@dataclass
class Store:
    """Everything the sandbox knows; mutate only while holding `lock`.

    Readers outside the lock iterate over `list(mapping.values())`: that copy is atomic under the GIL.
    """

    root: Path
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> login
    token_expiry: dict[str, str] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)  # lower-case full name -> repo
    pulls: dict[tuple[str, int], Pull] = field(default_factory=dict)
    issues: dict[tuple[str, int], Issue] = field(default_factory=dict)  # plain issues only
    next_number: dict[str, int] = field(default_factory=dict)
    comments: dict[int, IssueComment] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    deployments: dict[int, Deployment] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)  # tag object sha -> tag
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def new_id(self) -> int:
        """A fresh id, unique across every kind of record."""
        with self.lock:
            return next(self._ids)

    def user(self, login: str, kind: str | None = None) -> User:
        """The user `login`, created on first mention (bots end in `[bot]`)."""
        with self.lock:
            found = self.users.get(login.lower())
            if found is None:
                found = User(login, self.new_id(), kind or ("Bot" if login.endswith("[bot]") else "User"))
                self.users[login.lower()] = found
            return found

    def repo(self, full_name: str) -> Repo:
        """The repository `full_name`, or a 404."""
        found = self.repos.get(full_name.lower())
        if found is None:
            raise ApiError(404, "Not Found")
        return found

    def pull(self, repo: str, number: int) -> Pull:
        """Pull request `number` of `repo`, or a 404."""
        found = self.pulls.get((repo.lower(), number))
        if found is None:
            raise ApiError(404, "Not Found")
        return found

    def thread_repo(self, repo: str, number: int) -> str:
        """The full name of the repository whose pull request or plain issue `number` is, or a 404."""
        plain = self.issues.get((repo.lower(), number))
        return plain.repo if plain is not None else self.pull(repo, number).repo

    def comment(self, repo: str, comment_id: int) -> IssueComment:
        """Issue comment `comment_id` of `repo`, or a 404."""
        found = self.comments.get(comment_id)
        if found is None or found.repo.lower() != repo.lower():
            raise ApiError(404, "Not Found")
        return found

    def role(self, repo: str, login: str) -> str | None:
        """The user's role on `repo` (owner = admin), or None."""
        found = self.repo(repo)
        if login.lower() == found.owner.lower():
            return "admin"
        return found.roles.get(login.lower())
