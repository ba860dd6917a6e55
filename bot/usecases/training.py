"""Start training a pull request's commit: configuration, paths, trust, then the runner.

Local runner: the `mlbot/train` check is created (queued) before the job is queued, and the job
carries its id. Actions: the workflow is dispatched on the default branch with the sha as an input,
and the completed `workflow_run` brings the outcome back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace
from typing import Any

from bot.core import markers
from bot.core.authz import Approval, decide_trust, run_nonce, same_login
from bot.core.errors import ConfigError, ShuttingDown
from bot.core.paths import needs_retraining
from bot.core.report import escape_md
from bot.core.types import Comment, PullRequest, TrainingJob, TrainingOutcome
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.checks import TRAIN_CHECK, set_check
from bot.usecases.repo_state import (
    NotConfigured,
    RepoSettings,
    approval_marker,
    approvals,
    bot_comments,
    bullet_problems,
    changed_files,
    read_settings,
    settings_ref,
    waiting_heads,
    waiting_marker,
)

log = logging.getLogger("mlbot.training")


def job_key(repo: str, sha: str, params: dict[str, Any], *, production: str | None = None) -> str:
    """A stable dedupe key: the same commit with the same overrides (and production) trains once."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return f"train:{repo.lower()}:{sha}:{digest}" + (f":v{production}" if production else "")


def failed(key: str) -> str:
    """The key an attempt's failed outcome is queued under (see `run_local`)."""
    return f"{key}:done:failed"


def attempt_key(ctx: Context, base: str) -> str:
    """`base`, or the next retry of it when every earlier attempt failed: a failure is not "already trained"."""
    key, tries = base, 0
    while ctx.queue.gave_up(jobs.KEY_PREFIX + key) or ctx.queue.known(jobs.KEY_PREFIX + failed(key)):
        tries += 1
        key = f"{base}:retry{tries}"
    return key


def start_training(
    ctx: Context, pull: PullRequest, *, trigger: str, params: dict[str, Any] | None = None,
    sha: str | None = None, production: str | None = None,
) -> str:
    """Queue or dispatch training of `pull` (or of `sha`, e.g. a merge commit); return what happened.

    `production` is the version the training will be scored against: a merge commit trained again
    after production moved is a new job. A commit whose training failed is trained again.
    """
    sha = sha or pull.head_sha
    try:
        settings = read_settings(ctx, pull.repo, settings_ref(pull))
    except NotConfigured:
        return "this repository has no mlbot.yaml on the base branch, so there is nothing to train"
    except ConfigError as error:
        set_check(ctx, pull.repo, sha, TRAIN_CHECK, status="completed", conclusion="failure",
                  title=f"mlbot.yaml or a policy on {pull.base_ref} is invalid",
                  summary=bullet_problems(error.problems) + "\n\nFix it on the base branch, then push again.")
        say_config_error(ctx, pull, error)
        return f"mlbot.yaml or a policy on {pull.base_ref} is invalid: {error.message}"
    config = settings.config
    if trigger == "pull_request" and not needs_retraining(changed_files(ctx, pull), config.ci.paths):
        set_check(ctx, pull.repo, sha, TRAIN_CHECK, status="completed", conclusion="skipped",
                  title="No model inputs changed",
                  summary=f"None of the changed files match ci.paths ({', '.join(config.ci.paths)}).")
        return "no file in ci.paths changed"
    if trigger != "merge":
        # the bot authors pull requests only for a writer's `/retrain` in a watch issue (the refreshed data)
        author_role = ("write" if same_login(pull.author, ctx.bot_login) and not pull.from_fork
                       else ctx.forge.permission(pull.repo, pull.author))
        trusted_author = author_role in ("admin", "maintain", "write") and not pull.from_fork
        said = [] if trusted_author else bot_comments(ctx, pull)
        trust = decide_trust(repo=pull.repo, head_sha=sha, author=pull.author, author_permission=author_role,
                             from_fork=pull.from_fork, approvals=live_approvals(ctx, pull.repo, said, sha))
        if not trust.trusted:
            wait_for_approval(ctx, pull, sha, trust.reason, said)
            return trust.reason
    job = TrainingJob(repo=pull.repo, sha=sha, pr=pull.number, branch=pull.head_ref, trigger=trigger,
                      params=dict(params or {}),
                      default_branch=pull.default_branch or ctx.forge.default_branch(pull.repo),
                      workflow=config.ci.workflow, clone_url=pull.clone_url)
    return dispatch(ctx, job, settings, key=attempt_key(ctx, job_key(pull.repo, sha, job.params,
                                                                     production=production)))


def say_config_error(ctx: Context, pull: PullRequest, error: ConfigError) -> None:
    """Comment once per base sha that the base branch's rules are broken, with each file, key and fix."""
    ref = settings_ref(pull)
    if ref in {m.get("sha") for m in markers.of_kind((c.body for c in bot_comments(ctx, pull)), "config-error")}:
        return
    ctx.forge.create_comment(pull.repo, pull.number, (
        f"{markers.write('config-error', sha=ref)}\n**mlbot trained nothing**: `mlbot.yaml` or a policy on "
        f"`{escape_md(pull.base_ref)}` is invalid.\n\n{bullet_problems(error.problems)}\n\n"
        f"Fix it on `{escape_md(pull.base_ref)}` (mlbot judges every pull request by the base branch's rules), "
        "then push to this pull request again."))


def live_approvals(ctx: Context, repo: str, said: list[Comment], sha: str) -> list[Approval]:
    """The approvals of `sha`, each with its approver's permission as it is now (access may be gone)."""
    found = approvals(said)
    return [replace(a, permission=ctx.forge.permission(repo, a.approver)) if a.sha == sha else a for a in found]


def wait_for_approval(ctx: Context, pull: PullRequest, sha: str, reason: str, said: list[Comment]) -> None:
    """Neutral check (never failure) and one comment per head sha asking for /ok-to-retrain."""
    set_check(ctx, pull.repo, sha, TRAIN_CHECK, status="completed", conclusion="neutral",
              title="Waiting for approval", summary=reason)
    if sha not in {head for _, head in waiting_heads(said)}:
        ctx.forge.create_comment(pull.repo, pull.number, f"{waiting_marker(sha)}\n{escape_md(reason)}")


def approve(ctx: Context, pull: PullRequest, *, by: str, comment_id: int, named: str | None) -> str:
    """Record `/ok-to-retrain` for the head `by` could see when writing comment `comment_id`; train it.

    That head is the one named, or else the newest head the bot had asked approval for before the
    comment was written (comment ids only grow): a push that lands after the comment is not approved.
    """
    said = bot_comments(ctx, pull)
    if named is not None:
        if not pull.head_sha.startswith(named):
            return (f"{named} is not the head of this pull request ({pull.head_sha[:7]}); I approve only the "
                    "head you reviewed. Comment `/ok-to-retrain` with the current head's sha after reviewing it")
        sha = pull.head_sha
    else:
        before = [head for asked, head in waiting_heads(said) if asked < comment_id]
        if not before:
            return ("I could not tell which commit you reviewed (I had not asked for approval of any yet); "
                    f"comment `/ok-to-retrain {pull.head_sha[:12]}` if that is the one")
        sha = before[-1]
    ctx.forge.create_comment(pull.repo, pull.number, f"{approval_marker(sha, by)}\n@{by} approved training of "
                             f"{sha[:7]}. A new push needs a new `/ok-to-retrain`.")
    what = start_training(ctx, pull, trigger="command", sha=sha)
    later = "" if sha == pull.head_sha else (f" The newer head {pull.head_sha[:7]} was pushed after your comment "
                                             "and waits for its own `/ok-to-retrain`.")
    return f"approved {sha[:7]}: {what}.{later}"


def dispatch(ctx: Context, job: TrainingJob, settings: RepoSettings, *, key: str) -> str:
    """Hand `job` to the configured runner; a duplicate key is not trained twice."""
    kind = settings.config.ci.runner
    if kind == "local":
        already = f"{job.sha[:7]} with these parameters was already queued or trained; see the report"
        if ctx.queue.known(jobs.KEY_PREFIX + key):
            return already  # no new check run: the one of that training stands
        check_id = set_check(ctx, job.repo, job.sha, TRAIN_CHECK, status="queued", title="Training queued",
                             summary=f"Training of {job.sha[:7]} is queued on the local runner.", create=True)
        if not jobs.enqueue(ctx.queue, jobs.TrainRequested(job, check_id, key), key):  # lost a race to a twin
            set_check(ctx, job.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="neutral",
                      check_id=check_id, title="Already queued", summary=already)
            return already
        return f"training of {job.sha[:7]} is queued"
    runner = ctx.runners.get(kind)
    if runner is None:
        raise ConfigError([], hint=f"this bot has no {kind!r} runner configured")
    if ctx.signing_keys:  # the completed run proves it is this dispatch by carrying the nonce back
        job = replace(job, nonce=run_nonce(ctx.signing_keys[0], job.repo, job.sha, job.pr))
    runner.dispatch(job)
    set_check(ctx, job.repo, job.sha, TRAIN_CHECK, status="in_progress", title="Training dispatched",
              summary=f"Dispatched {job.workflow} on {job.default_branch} for {job.sha[:7]}.")
    return f"dispatched {job.workflow} for {job.sha[:7]}"


def run_local(ctx: Context, request: jobs.TrainRequested) -> None:
    """Run a queued training on this machine, then queue its outcome for reporting."""
    job = request.job
    runner = ctx.runners.get("local")
    if runner is None:
        outcome = TrainingOutcome(False, None, "", 0.0, "This bot has no local runner configured.")
    else:
        set_check(ctx, job.repo, job.sha, TRAIN_CHECK, status="in_progress", title="Training",
                  summary=f"Training {job.sha[:7]} on the local runner.", check_id=request.check_id)
        outcome = runner.dispatch(job) or TrainingOutcome(False, None, "", 0.0, "The runner returned nothing.")
        if runner.stopping:  # SIGTERM cut the training short: not a failure, run it again after the restart
            raise ShuttingDown(f"training of {job.sha[:7]} was stopped by a shutdown; it runs again on restart")
    finished = jobs.TrainingFinished(job, outcome, request.check_id)
    key = request.key or job_key(job.repo, job.sha, job.params)
    jobs.enqueue(ctx.queue, finished, f"{key}:done:{outcome.run_id}" if outcome.ok and outcome.run_id else failed(key))
