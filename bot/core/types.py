"""The shared vocabulary: plain dataclasses for what crosses a port (GitHub, MLflow, runners).

Adapters translate PyGithub and MLflow objects into these; the core, use cases and handlers only
ever see these. `bot.ports` re-exports them beside the Protocols.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

COMMENT_LIMIT = 65_536  # GitHub refuses comment bodies longer than this

Permission = Literal["admin", "maintain", "write", "triage", "read", "none"]
CheckStatus = Literal["queued", "in_progress", "completed"]
CheckConclusion = Literal[
    "success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"
]
Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]
DeploymentState = Literal["error", "failure", "inactive", "in_progress", "queued", "pending", "success"]
CompareStatus = Literal["ahead", "behind", "identical", "diverged"]


# --- GitHub ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullRequest:
    repo: str  # "owner/name" of the base repository
    number: int
    title: str
    author: str
    head_sha: str
    head_ref: str
    head_repo: str  # "owner/name" of the head repository (differs from `repo` for forks)
    base_ref: str
    base_sha: str
    state: Literal["open", "closed"] = "open"
    draft: bool = False
    merged: bool = False
    merge_commit_sha: str | None = None
    html_url: str = ""
    default_branch: str = ""  # of the base repository, when the payload tells ("" : ask the forge)
    clone_url: str = ""  # of the base repository, when the payload tells
    merged_at: str = ""  # ISO 8601 when merged

    @property
    def from_fork(self) -> bool:
        return self.head_repo.lower() != self.repo.lower()


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    body: str
    html_url: str = ""


@dataclass(frozen=True)
class Issue:
    """A plain issue (the production watch keeps one per model and alias)."""

    number: int
    title: str
    body: str
    state: str  # open | closed
    author: str
    html_url: str = ""


@dataclass(frozen=True)
class Review:
    author: str
    state: str  # normalised upper case: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
    commit_sha: str | None = None


@dataclass(frozen=True)
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None = None
    details_url: str | None = None


@dataclass(frozen=True)
class CommitStatus:
    context: str
    state: str  # success | failure | error | pending


@dataclass(frozen=True)
class CheckOutput:
    title: str
    summary: str
    text: str | None = None


@dataclass(frozen=True)
class CommitComparison:
    """How `head` relates to `base` (GitHub compare): commits only in head (`ahead_by`) or only in base."""

    status: CompareStatus
    ahead_by: int
    behind_by: int

    @property
    def head_contains_base(self) -> bool:
        """Whether every commit of `base` is in `head` (head is base or descends from it)."""
        return self.status in ("ahead", "identical")


# --- Training -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingJob:
    """What to train: a commit of a repository, for a pull request (None for a manual run)."""

    repo: str
    sha: str
    pr: int | None
    branch: str
    trigger: str = "pull_request"  # pull_request | command | merge | manual
    params: dict[str, Any] = field(default_factory=dict)  # validated `/retrain` overrides
    default_branch: str = "main"  # Actions dispatches on it; the sha travels as an input
    workflow: str = "mlbot-train.yml"
    nonce: str = ""  # Actions: proves a completed workflow run is the one the bot dispatched
    clone_url: str = ""  # the repository's own, from the webhook: the local runner clones it


@dataclass(frozen=True)
class TrainingOutcome:
    """How a training run that ran here ended; `message` is one sentence for the check run."""

    ok: bool
    run_id: str | None
    log_tail: str
    duration: float
    message: str = ""


# --- Production watch -----------------------------------------------------------------------


@dataclass(frozen=True)
class WatchJob:
    """Judge one production window of `repo` with the default branch's mlbot.yaml at `sha`."""

    repo: str
    branch: str  # the default branch
    sha: str
    window: str  # the scheduled window (ISO minute, UTC), for logs
    clone_url: str = ""


@dataclass(frozen=True)
class WatchOutcome:
    """How a watch that ran here ended: `summary` is `WatchSummary.to_json()`, None when it failed."""

    ok: bool
    summary: dict[str, Any] | None
    log_tail: str
    message: str = ""


@dataclass(frozen=True)
class RefreshJob:
    """Run `watch.refresh` on the default branch at `sha`, asked by `by` in watch issue `issue`."""

    repo: str
    branch: str  # the default branch
    sha: str
    issue: int
    by: str
    comment_id: int
    clone_url: str = ""


@dataclass(frozen=True)
class RefreshOutcome:
    """What the refresh changed: path → new content (None: deleted), relative to the repository root."""

    ok: bool
    files: dict[str, bytes | None]
    log_tail: str
    message: str = ""


@dataclass(frozen=True)
class Snooze:
    """A `/snooze`: until when (epoch seconds) the watch of a model stays quiet, and who asked."""

    until: float
    by: str


# --- Registry (MLflow) ----------------------------------------------------------------------

LedgerAction = Literal["promote", "rollback"]


@dataclass(frozen=True)
class ModelVersionRef:
    """A registered model version as mlbot sees it."""

    model: str
    version: str
    run_id: str | None = None
    sha: str | None = None
    status: str | None = None  # mlbot.status: production | replaced | rolled-back


@dataclass(frozen=True)
class LedgerEntry:
    """One promotion or rollback, as recorded in the registry's append-only ledger."""

    seq: int
    action: LedgerAction
    model: str
    version: str
    previous: str | None  # the version that was production before (None: nothing was)
    at: str  # ISO 8601, UTC
    by: str
    reason: str = ""
    sha: str | None = None
    pr: int | None = None
    run_id: str | None = None
    forced: bool = False
    note: str = ""  # e.g. what a forced promotion overrode


Effect = Literal["deployment", "tag", "comment"]  # what a promotion does on GitHub after the registry moved


@dataclass(frozen=True)
class PromotionIntent:
    """A promotion or rollback as journaled in the registry before anything moved (the recovery record).

    `seq` is the ledger sequence number it takes. `effects` are the GitHub side effects the caller
    still owes (name → done); `Tracker.mark_done` records each, and the intent is dropped once the
    registry steps and every effect are done. `details` carries what the caller needs to redo them.
    """

    model: str
    seq: int
    action: LedgerAction
    alias: str
    version: str
    previous: str | None
    at: str
    by: str
    reason: str = ""
    pr: int | None = None
    sha: str | None = None
    run_id: str | None = None
    forced: bool = False
    note: str = ""
    registry_done: bool = False
    effects: Mapping[str, bool] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def pending(self) -> list[str]:
        """The GitHub side effects not done yet, in the order they are done."""
        return [name for name, done in self.effects.items() if not done]


@dataclass(frozen=True)
class Promotion:
    """What a promote or rollback did: `changed` is False when the version already was production.

    `intent` is set when the caller asked for GitHub side effects: finish its `pending` ones (also
    after `changed=False`, when a crashed earlier attempt moved the registry but did not announce it).
    """

    model: str
    alias: str
    version: str
    previous: str | None
    changed: bool
    entry: LedgerEntry | None = None
    intent: PromotionIntent | None = None


# --- Tracking runs (MLflow) -------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """A training run as logged by `mlbot train` (layout: docs/internals.md)."""

    run_id: str
    experiment_id: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    artifact_uri: str
    start_time: int  # milliseconds since the epoch, as MLflow stores it
