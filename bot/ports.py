"""Ports: the Protocols handlers talk to, and the plain dataclasses that cross them.

No PyGithub or MLflow object ever crosses a port; adapters translate to these types.
Adapters: `github_client.GitHubForge` (Forge), `mlflow_client` (Tracker), `runners` (Runner),
`queue` (JobQueue). Tests of the pure core may pass small recording fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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


class Forge(Protocol):
    """What mlbot needs from GitHub (or the sandbox). Implemented by `github_client`."""

    def default_branch(self, repo: str) -> str: ...

    def get_file(self, repo: str, path: str, ref: str) -> bytes | None:
        """Return the file's bytes at `ref`, or None when it does not exist."""
        ...

    def list_directory(self, repo: str, path: str, ref: str) -> list[str]:
        """Return the file paths directly inside `path` at `ref` ([] when absent)."""
        ...

    def get_pull(self, repo: str, number: int) -> PullRequest: ...

    def list_pull_files(self, repo: str, number: int) -> list[str]: ...

    def list_comments(self, repo: str, number: int) -> list[Comment]:
        """Every comment on the issue/PR, across all pages, oldest first."""
        ...

    def create_comment(self, repo: str, number: int, body: str) -> Comment: ...

    def upsert_sticky_comment(self, repo: str, number: int, marker: str, body: str) -> Comment:
        """Edit the bot's own comment whose first line is `marker`, or create it."""
        ...

    def add_reaction(self, repo: str, comment_id: int, reaction: Reaction) -> None: ...

    def create_check_run(
        self,
        repo: str,
        head_sha: str,
        name: str,
        *,
        status: CheckStatus = "queued",
        conclusion: CheckConclusion | None = None,
        output: CheckOutput | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> CheckRun: ...

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: CheckStatus | None = None,
        conclusion: CheckConclusion | None = None,
        output: CheckOutput | None = None,
        details_url: str | None = None,
    ) -> None: ...

    def list_check_runs(self, repo: str, sha: str) -> list[CheckRun]: ...

    def list_commit_statuses(self, repo: str, sha: str) -> list[CommitStatus]: ...

    def compare(self, repo: str, base: str, head: str) -> CommitComparison:
        """GET /repos/{repo}/compare/{base}...{head}: whether head contains base, and by how much."""
        ...

    def permission(self, repo: str, login: str) -> Permission:
        """The user's real role (maintain and triage included), 'none' when not a collaborator."""
        ...

    def list_reviews(self, repo: str, number: int) -> list[Review]: ...

    def dispatch_workflow(self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Trigger `workflow_dispatch`; raise ForgeError when GitHub refuses it."""
        ...

    def create_deployment(
        self, repo: str, ref: str, environment: str, description: str, payload: Mapping[str, Any]
    ) -> int: ...

    def create_deployment_status(
        self, repo: str, deployment_id: int, state: DeploymentState, description: str,
        environment_url: str | None = None, log_url: str | None = None,
    ) -> None: ...

    def create_tag(self, repo: str, tag: str, sha: str, message: str) -> None:
        """Create an annotated tag object and its ref (idempotent when it already points at sha)."""
        ...


# --- Jobs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A verified webhook delivery as queued: parsing the JSON happens in the worker."""

    delivery_id: str
    event: str
    body: bytes
    content_type: str = "application/json"
    received_at: float = 0.0


class JobQueue(Protocol):
    """A durable queue: a job enqueued is run at least once, deduped by its key."""

    def enqueue(self, kind: str, payload: Mapping[str, Any], *, key: str | None = None) -> bool:
        """Queue a job; return False when a job with the same key was already accepted."""
        ...


@dataclass
class Context:
    """What a handler gets: the ports, plus who the bot is."""

    forge: Forge
    queue: JobQueue
    bot_login: str
    tracker: Tracker | None = None
    runners: Mapping[str, Runner] = field(default_factory=dict)  # by `ci.runner`: "local", "actions"
    mlflow_url: str | None = None  # public MLflow UI base, for links in reports
    extras: dict[str, Any] = field(default_factory=dict)


# --- Training runners -------------------------------------------------------------------------


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


@dataclass(frozen=True)
class TrainingOutcome:
    """How a training run that ran here ended; `message` is one sentence for the check run."""

    ok: bool
    run_id: str | None
    log_tail: str
    duration: float
    message: str = ""


class Runner(Protocol):
    """Starts training. Implemented by `runners.ActionsRunner` and `runners.LocalRunner`."""

    def dispatch(self, job: TrainingJob) -> TrainingOutcome | None:
        """Train `job`: None when it runs elsewhere (a workflow_run webhook reports it), else the outcome."""
        ...


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


class Tracker(Protocol):
    """What handlers and the CLI need from MLflow. Implemented by `mlflow_client.tracker.MlflowTracker`."""

    def find_run(self, experiment: str, sha: str) -> str | None:
        """The newest finished run of `sha` (full or a prefix) in `experiment`, or None."""
        ...

    def load_run_record(self, run_id: str) -> RunRecord: ...

    def load_predictions(self, run_id: str) -> Any:
        """The run's `eval/predictions.parquet` as a pandas DataFrame."""
        ...

    def load_profile(self, run_id: str) -> dict[str, Any] | None:
        """The run's `eval/profile.json`, or None when it was not logged."""
        ...

    def production_version(self, model: str, alias: str = "production") -> ModelVersionRef | None: ...

    def promote(
        self, model: str, run_id: str, *, by: str, alias: str = "production", reason: str = "",
        force: bool = False, pr: int | None = None, note: str = "", effects: tuple[Effect, ...] = (),
        details: Mapping[str, str] | None = None,
    ) -> Promotion:
        """Register the run's model and move `alias` to it; StaleBaseline unless `force`.

        `note` goes into the ledger entry (e.g. which gates a forced promotion overrode). `effects`
        (with `details`) are journaled as owed until `mark_done`; see `PromotionIntent`.
        """
        ...

    def rollback(
        self, model: str, *, by: str, reason: str, to: str | None = None, alias: str = "production",
        pr: int | None = None, effects: tuple[Effect, ...] = (), details: Mapping[str, str] | None = None,
    ) -> Promotion: ...

    def recover(self, model: str | None = None) -> list[PromotionIntent]:
        """Finish (or undo, when the alias never moved) interrupted promotions and rollbacks of `model`
        (every model when None); return the intents whose GitHub side effects are still owed."""
        ...

    def mark_done(self, model: str, seq: int, effect: Effect) -> None:
        """Record that GitHub side effect `effect` of intent `seq` is done."""
        ...

    def history(self, model: str) -> list[LedgerEntry]:
        """Every promotion and rollback of `model`, oldest first."""
        ...
