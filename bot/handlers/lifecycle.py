"""The pull-request lifecycle: decide trust, dispatch training, and hand finished runs to reporting.

Jobs the bot queues for itself (internal events, same router): `mlbot.train` (run the local
runner), `mlbot.trained` (a run finished here), and the `workflow_run` webhook for Actions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict
from typing import Any

from bot.core.authz import decide_trust
from bot.core.errors import ConfigError
from bot.core.events import Event, PullRequestEvent, UnknownEvent, WorkflowRunEvent
from bot.core.paths import needs_retraining
from bot.handlers import reporting
from bot.handlers.routing import Router
from bot.ports import Comment, Context, PullRequest, TrainingJob, TrainingOutcome
from bot.usecases.repo_state import (
    TRAIN_CHECK,
    WAITING,
    NotConfigured,
    RepoSettings,
    approvals,
    bot_comments,
    bullet_problems,
    read_settings,
    set_check,
)

log = logging.getLogger("mlbot.lifecycle")
router = Router()

TRAIN_JOB = "mlbot.train"
TRAINED_JOB = "mlbot.trained"
RUN_NAME = re.compile(r"sha=([0-9a-f]{7,40})\b.*?pr=(\d*)")


def job_key(prefix: str, repo: str, sha: str, params: dict[str, Any]) -> str:
    """A stable dedupe key: the same commit with the same overrides trains once."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return f"{prefix}:{repo}:{sha}:{digest}"


@router.register("pull_request", "opened")
@router.register("pull_request", "synchronize")
@router.register("pull_request", "reopened")
@router.register("pull_request", "ready_for_review")
def train_pull_request(event: Event, ctx: Context) -> None:
    """A PR appeared or moved: train its head commit if it is trusted and touches model inputs."""
    if not isinstance(event, PullRequestEvent) or event.pull is None or event.pull.draft:
        return
    start_training(ctx, event.pull, trigger="pull_request")


def start_training(
    ctx: Context, pull: PullRequest, *, trigger: str, params: dict[str, Any] | None = None,
    sha: str | None = None, production: str | None = None,
) -> str:
    """Queue or dispatch training of `pull` (or of `sha`, e.g. a merge commit); return what happened.

    `production` is the version the training will be scored against: a merge commit trained again
    after production moved is a new job, not a duplicate of the first.
    """
    sha = sha or pull.head_sha
    try:
        settings = read_settings(ctx.forge, pull.repo, pull.base_sha or pull.base_ref)
    except NotConfigured:
        return "this repository has no mlbot.yaml on the base branch, so there is nothing to train"
    except ConfigError as error:
        set_check(ctx.forge, pull.repo, sha, TRAIN_CHECK, status="completed", conclusion="failure",
                  title=f"mlbot.yaml on {pull.base_ref} is invalid",
                  summary=bullet_problems(error.problems) + "\n\nFix it on the base branch, then push again.")
        return f"mlbot.yaml on {pull.base_ref} is invalid: {error.message}"
    config = settings.config
    if trigger == "pull_request":
        changed = ctx.forge.list_pull_files(pull.repo, pull.number)
        if not needs_retraining(changed, config.ci.paths):
            set_check(ctx.forge, pull.repo, sha, TRAIN_CHECK, status="completed", conclusion="skipped",
                      title="No model inputs changed",
                      summary=f"None of the changed files match ci.paths ({', '.join(config.ci.paths)}).")
            return "no file in ci.paths changed"
    if trigger != "merge":
        author_role = ctx.forge.permission(pull.repo, pull.author)
        said = bot_comments(ctx.forge, pull, ctx.bot_login)
        trust = decide_trust(repo=pull.repo, head_sha=sha, author=pull.author, author_permission=author_role,
                             from_fork=pull.from_fork, approvals=approvals(said))
        if not trust.trusted:
            wait_for_approval(ctx, pull, sha, trust.reason, said)
            return trust.reason
    job = TrainingJob(repo=pull.repo, sha=sha, pr=pull.number, branch=pull.head_ref, trigger=trigger,
                      params=dict(params or {}), default_branch=ctx.forge.default_branch(pull.repo),
                      workflow=config.ci.workflow)
    return dispatch(ctx, job, settings, production=production)


def wait_for_approval(ctx: Context, pull: PullRequest, sha: str, reason: str, said: list[Comment]) -> None:
    """Neutral check (never failure) and one comment per head sha asking for /ok-to-retrain."""
    set_check(ctx.forge, pull.repo, sha, TRAIN_CHECK, status="completed", conclusion="neutral",
              title="Waiting for approval", summary=reason)
    marker = WAITING.format(sha=sha)
    if not any(marker in c.body for c in said):
        ctx.forge.create_comment(pull.repo, pull.number, f"{marker}\n{reason}")


def dispatch(ctx: Context, job: TrainingJob, settings: RepoSettings, *, production: str | None = None) -> str:
    """Hand `job` to the configured runner; a duplicate (same sha, params and production) is not trained twice."""
    kind = settings.config.ci.runner
    if kind == "local":
        payload = asdict(job)
        key = job_key("train", job.repo, job.sha, job.params) + (f":v{production}" if production else "")
        if not ctx.queue.enqueue(TRAIN_JOB, payload, key=key):
            return f"{job.sha[:7]} with these parameters was already queued or trained; see the report"
        set_check(ctx.forge, job.repo, job.sha, TRAIN_CHECK, status="queued", title="Training queued",
                  summary=f"Training of {job.sha[:7]} is queued on the local runner.")
        return f"training of {job.sha[:7]} is queued"
    runner = ctx.runners.get(kind)
    if runner is None:
        raise ConfigError([], hint=f"this bot has no {kind!r} runner configured")
    runner.dispatch(job)
    set_check(ctx.forge, job.repo, job.sha, TRAIN_CHECK, status="in_progress",
              title="Training dispatched",
              summary=f"Dispatched {job.workflow} on {job.default_branch} for {job.sha[:7]}.")
    return f"dispatched {job.workflow} for {job.sha[:7]}"


@router.register(TRAIN_JOB)
def run_local_training(event: Event, ctx: Context) -> None:
    """Run a queued training on this machine, then report the outcome through the queue."""
    if not isinstance(event, UnknownEvent):
        return
    job = TrainingJob(**event.payload)
    runner = ctx.runners.get("local")
    if runner is None:
        outcome = TrainingOutcome(False, None, "", 0.0, "This bot has no local runner configured.")
    else:
        set_check(ctx.forge, job.repo, job.sha, TRAIN_CHECK, status="in_progress", title="Training",
                  summary=f"Training {job.sha[:7]} on the local runner.")
        outcome = runner.dispatch(job) or TrainingOutcome(False, None, "", 0.0, "The runner returned nothing.")
    payload = {"job": asdict(job), "outcome": asdict(outcome)}
    ctx.queue.enqueue(TRAINED_JOB, payload, key=job_key("trained", job.repo, job.sha, job.params)
                      + f":{outcome.run_id or 'failed'}")


@router.register(TRAINED_JOB)
def training_finished(event: Event, ctx: Context) -> None:
    """A local run finished: report it (or, for a merge commit, go on to promotion)."""
    if not isinstance(event, UnknownEvent):
        return
    job = TrainingJob(**event.payload["job"])
    outcome = TrainingOutcome(**event.payload["outcome"])
    reporting.training_done(ctx, job, outcome)


@router.register("workflow_run", "completed")
def workflow_finished(event: Event, ctx: Context) -> None:
    """An Actions training run finished: find its commit in the run name, then report like a local run."""
    if not isinstance(event, WorkflowRunEvent):
        return
    match = RUN_NAME.search(event.display_title)
    if not match or not match.group(2):
        log.info("workflow run %s (%s) is not an mlbot training of a pull request", event.run_id,
                 event.display_title)
        return
    sha, pr = match.group(1), int(match.group(2))
    pull = ctx.forge.get_pull(event.repo, pr)
    trigger = "merge" if pull.merged and sha == pull.merge_commit_sha else "pull_request"
    job = TrainingJob(repo=event.repo, sha=sha, pr=pr, branch=pull.head_ref, trigger=trigger)
    run_id = None
    if event.conclusion == "success" and ctx.tracker is not None:
        settings = read_settings(ctx.forge, event.repo, pull.base_ref)
        run_id = ctx.tracker.find_run(settings.config.experiment_name, sha)
    ok = event.conclusion == "success" and run_id is not None
    message = (f"The training workflow finished ({event.conclusion})." if ok or event.conclusion != "success"
               else "The training workflow succeeded but logged no finished MLflow run for this commit.")
    outcome = TrainingOutcome(ok, run_id, f"See the workflow run: {event.html_url}", 0.0, message)
    reporting.training_done(ctx, job, outcome, details_url=event.html_url or None)
