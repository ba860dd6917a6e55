"""Ports: the Protocols handlers and use cases talk to, and the `Context` that carries them.

No PyGithub or MLflow object ever crosses a port; adapters translate to the dataclasses of
`bot.core.types` (re-exported here). Adapters: `adapters.github` (Forge), `adapters.mlflow` (Tracker),
`adapters.runners` (Runner), `adapters.queue` (JobQueue). Unit tests pass recording fakes.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.core.judge.table import PredictionTable
from bot.core.types import (
    CheckConclusion,
    CheckOutput,
    CheckRun,
    CheckStatus,
    Comment,
    CommitComparison,
    CommitStatus,
    CompareStatus,
    DeploymentState,
    Effect,
    Issue,
    LedgerAction,
    LedgerEntry,
    ModelVersionRef,
    Permission,
    Promotion,
    PromotionIntent,
    PullRequest,
    Reaction,
    RefreshJob,
    RefreshOutcome,
    Review,
    RunRecord,
    Snooze,
    TrainingJob,
    TrainingOutcome,
    WatchJob,
    WatchOutcome,
)
from bot.core.watch_report import WatchSummary

__all__ = [
    "CheckConclusion", "CheckOutput", "CheckRun", "CheckStatus", "Comment", "CommitComparison",
    "CommitStatus", "CompareStatus", "Context", "DeploymentState", "Effect", "Forge", "JobQueue",
    "LedgerAction", "LedgerEntry", "Locks", "ModelVersionRef", "Permission", "Promotion", "PromotionIntent",
    "PullRequest", "Reaction", "RefreshJob", "RefreshOutcome", "Repositories", "Review", "RunRecord", "Runner",
    "Snooze", "Tracker", "TrainingJob", "TrainingOutcome", "WatchJob", "WatchOutcome", "WatchSummary",
]


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

    def recent_pulls(self, repo: str, state: Literal["open", "closed"], limit: int = 50) -> list[PullRequest]:
        """Pull requests in `state`, most recently updated first (one page)."""
        ...

    def list_pull_files(self, repo: str, number: int) -> list[str]: ...

    def list_comments(self, repo: str, number: int) -> list[Comment]:
        """Every comment on the issue/PR, across all pages, oldest first."""
        ...

    def create_comment(self, repo: str, number: int, body: str) -> Comment: ...

    def upsert_sticky_comment(self, repo: str, number: int, marker: str, body: str) -> Comment:
        """Edit the bot's own comment whose first line is `marker`, or create it."""
        ...

    def add_reaction(self, repo: str, comment_id: int, reaction: Reaction) -> None: ...

    def find_issue(self, repo: str, marker: str) -> Issue | None:
        """The bot's own open issue (not a pull request) whose body's first line is `marker`."""
        ...

    def get_issue(self, repo: str, number: int) -> Issue:
        """Issue `number` as it is now (its author and body, e.g. to recognise the watch issue)."""
        ...

    def create_issue(self, repo: str, title: str, body: str) -> Issue:
        """Open an issue (once: a retried create finds the one it made)."""
        ...

    def update_issue(self, repo: str, number: int, *, title: str | None = None, body: str | None = None,
                     state: Literal["open", "closed"] | None = None) -> None:
        """Edit an issue's title or body, or close or reopen it."""
        ...

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

    def clone_credential(self, repo: str) -> str | None:
        """Return a short-lived token `git` can clone `repo` with over HTTPS (None: clone without)."""
        ...

    def create_tag(self, repo: str, tag: str, sha: str, message: str) -> None:
        """Create an annotated tag object and its ref (idempotent when it already points at sha)."""
        ...

    def branch_sha(self, repo: str, branch: str) -> str:
        """The commit `branch` points at now."""
        ...

    def clone_url(self, repo: str) -> str:
        """What `git clone` takes for `repo` (a scheduled job has no webhook payload to read it from)."""
        ...

    def propose_change(self, repo: str, *, base: str, base_sha: str, branch: str,
                       files: Mapping[str, bytes | None], message: str, title: str, body: str) -> PullRequest:
        """Commit `files` (None: delete) on `branch`, made from `base_sha`, and open a pull request into `base`.

        Idempotent: a branch already made, a file already written or an open pull request of `branch`
        is reused, so a retried job opens one pull request.
        """
        ...



class JobQueue(Protocol):
    """A durable queue: a job enqueued is run at least once, deduped by its key."""

    def enqueue(self, kind: str, payload: Mapping[str, Any], *, key: str | None = None) -> bool:
        """Queue a job; return False when a job with the same key was already accepted."""
        ...

    def known(self, key: str) -> bool:
        """Whether a job (or delivery) with this key was ever accepted."""
        ...

    def gave_up(self, key: str) -> bool:
        """Whether the job with this key ended failed or dead (it will not run again by itself)."""
        ...


class Locks(Protocol):
    """Locks shared by every worker of a deployment (Redis, or the SQLite queue's own store)."""

    def hold(self, key: str, *, lease: float) -> AbstractContextManager[None]:
        """Hold `key` until the block ends; a holder that dies frees it after `lease` seconds."""
        ...


class Repositories(Protocol):
    """The repositories the bot has worked for, with when it first did (what the reconciler revisits)."""

    def add(self, repo: str) -> None:
        """Remember `repo` (the first time only)."""
        ...

    def since(self) -> dict[str, float]:
        """Every remembered repository (lower case) and when it was first seen (epoch seconds)."""
        ...


@dataclass
class Context:
    """What a handler gets: the ports, who the bot is (resolved once), and per-process memory."""

    forge: Forge
    queue: JobQueue
    tracker: Tracker
    bot_login: str
    runners: Mapping[str, Runner] = field(default_factory=dict)  # by `ci.runner`: "local", "actions"
    mlflow_url: str | None = None  # public MLflow UI base, for links in reports
    locks: Locks | None = None  # None: process-local locks only (one worker process)
    signing_keys: tuple[str, ...] = ()  # sign the nonces of dispatched workflow runs (newest first)
    repositories: Repositories | None = None  # None: no reconciler in this process
    secrets: tuple[str, ...] = ()  # every secret value the bot holds: redacted from logs shown on GitHub
    memo: Any = None  # bot.usecases.memo.Memo, created on first use
    local_locks: dict[str, Any] = field(default_factory=dict)  # this context's in-process locks, by key


class Runner(Protocol):
    """Starts training. Implemented by `runners.ActionsRunner` and `runners.LocalRunner`."""

    @property
    def stopping(self) -> bool:
        """Whether the process is shutting this runner down (what it ran was cut short)."""
        ...

    def dispatch(self, job: TrainingJob) -> TrainingOutcome | None:
        """Train `job`: None when it runs elsewhere (a workflow_run webhook reports it), else the outcome."""
        ...

    def stop_all(self) -> int:
        """Stop what runs here now (whole process trees) and refuse new work; how many were running."""
        ...

    def watch(self, job: WatchJob) -> WatchOutcome | None:
        """Judge one production window (`mlbot watch`): None when it runs elsewhere (a scheduled workflow)."""
        ...

    def refresh(self, job: RefreshJob) -> RefreshOutcome | None:
        """Run `watch.refresh` on the default branch: the changed files, or None when a workflow does it."""
        ...



class Tracker(Protocol):
    """What handlers and the CLI need from MLflow. Implemented by `mlflow_client.tracker.MlflowTracker`."""

    def find_run(self, experiment: str, sha: str) -> str | None:
        """The newest finished run of `sha` (full or a prefix) in `experiment`, or None."""
        ...

    def load_run_record(self, run_id: str) -> RunRecord: ...

    def load_predictions(self, run_id: str) -> PredictionTable:
        """The run's `eval/predictions.parquet` as a table of numpy columns."""
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

    def latest_watch(self, experiment: str, model: str, alias: str) -> tuple[WatchSummary, float] | None:
        """The newest finished monitoring run of `model`@`alias`: its summary and when it ran (epoch s)."""
        ...

    def watch_snooze(self, model: str, alias: str) -> Snooze | None:
        """The `/snooze` of `model`@`alias` (also when it has ended), or None."""
        ...

    def snooze_watch(self, model: str, alias: str, snooze: Snooze | None) -> None:
        """Record (None: clear) the `/snooze` of `model`@`alias` on the registered model."""
        ...
