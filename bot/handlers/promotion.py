"""Promotion on merge: re-read fresh state, re-evaluate the gates, move the alias, announce it.

Only a model of what main holds is promoted, in merge order. The PR's head run stands for the
merge only when the merge commit adds nothing else (GitHub's compare: one commit ahead of the
head); otherwise, or when the comparison is stale (production moved since the run was scored),
the merge commit is trained against the current production and judged anew. A run whose commit
production already contains (a later merge got there first) is skipped. Decisions are serialized
per repository in a worker process; across processes the registry's lock and stale check hold.
A redelivered merge changes nothing: the job is keyed on the merge, and the registry reports
`changed=False` when the version already is production.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.core.errors import ConfigError, ForgeError, StaleBaseline
from bot.core.events import Event, PullRequestEvent, UnknownEvent
from bot.handlers import lifecycle
from bot.handlers.reporting import PROMOTE_JOB, judge
from bot.handlers.routing import Router
from bot.ports import Context, ModelVersionRef, Promotion, PullRequest, Tracker
from bot.usecases.assess import describe_gate
from bot.usecases.repo_state import (
    GATES_CHECK,
    TRAIN_CHECK,
    NotConfigured,
    RepoSettings,
    find_check,
    keyed_lock,
    read_settings,
)

log = logging.getLogger("mlbot.promotion")
router = Router()


@router.register("pull_request", "closed")
def pull_request_closed(event: Event, ctx: Context) -> None:
    """Merged: queue the promotion decision. Closed unmerged: cancel what is pending."""
    if not isinstance(event, PullRequestEvent) or event.pull is None:
        return
    pull = event.pull
    if pull.merged:
        ctx.queue.enqueue(PROMOTE_JOB, {"repo": pull.repo, "pr": pull.number, "sha": pull.head_sha,
                                        "run_id": None, "by": event.sender, "base_sha": pull.base_sha},
                          key=f"promote:{pull.repo}:{pull.number}:{pull.merge_commit_sha or pull.head_sha}")
        return
    for name in (TRAIN_CHECK, GATES_CHECK):
        check = find_check(ctx.forge, pull.repo, pull.head_sha, name)
        if check is not None and check.status != "completed":
            ctx.forge.update_check_run(pull.repo, check.id, status="completed", conclusion="cancelled")


@router.register(PROMOTE_JOB)
def promote_merged(event: Event, ctx: Context) -> None:
    """Decide, at merge time, whether the merged PR's model becomes production."""
    if not isinstance(event, UnknownEvent) or ctx.tracker is None:
        return
    job = event.payload
    pull = ctx.forge.get_pull(job["repo"], int(job["pr"]))
    try:  # the policies the PR was judged by: the base before the merge, not the PR's own edits
        settings = read_settings(ctx.forge, pull.repo, job.get("base_sha") or pull.base_ref)
    except NotConfigured:
        return
    except ConfigError as error:
        ctx.forge.create_comment(pull.repo, pull.number, "I did not promote anything: the base branch's "
                                 f"configuration is invalid ({error.message}).")
        return
    # Two merges arriving together must not judge and promote interleaved: one decision per repository
    # at a time in this process (the registry's own lock and stale check cover other processes).
    with keyed_lock("repo", pull.repo.lower()):
        decide(ctx, pull, settings, job, ctx.tracker)


def decide(ctx: Context, pull: PullRequest, settings: RepoSettings, job: dict[str, Any], tracker: Tracker) -> None:
    """Promote the model of what main holds after this merge, unless a later merge is production already."""
    config = settings.config
    retrained = bool(job.get("run_id"))
    run_id = job.get("run_id") or tracker.find_run(config.experiment_name, job["sha"])
    if run_id is None:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote anything: there is no finished "
                                 f"training run of {job['sha'][:7]} in MLflow. A maintainer can train the "
                                 "default branch and run `mlbot promote`.")
        return
    later = superseded_by(ctx, tracker, config.model, config.promote.alias, pull.repo, job["sha"], run_id)
    if later is not None:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote {job['sha'][:7]}: production "
                                 f"**{config.model}** v{later.version} was trained on {str(later.sha)[:7]}, "
                                 "which already contains it (a later merge got there first).")
        return
    assessment = judge(ctx, pull, run_id, settings)
    if not assessment.promotable:
        failing = "\n".join(f"- {describe_gate(r)}" for r in assessment.evaluation.blocking)
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote **{config.model}**: "
                                 f"{len(assessment.evaluation.blocking)} blocking gate(s) did not pass at "
                                 f"merge time. Production stays where it is.\n\n{failing}")
        return
    production = assessment.current.version if assessment.current else None
    if assessment.stale:
        if retrained and assessment.baseline_version is None:  # production could not score its rows
            ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote: {assessment.stale}.")
            return
        reevaluate(ctx, pull, assessment.stale, production)
        return
    if not retrained and not holds_only_the_pull(ctx, pull):
        reevaluate(ctx, pull, f"main had other changes when #{pull.number} merged, so its head "
                   f"{pull.head_sha[:7]} is not the model main now holds", production)
        return
    try:
        promotion = tracker.promote(config.model, run_id, by=str(job.get("by") or pull.author),
                                    alias=config.promote.alias, reason=f"merged #{pull.number}", pr=pull.number)
    except StaleBaseline as error:  # production moved in another process since the judgement
        current = tracker.production_version(config.model, config.promote.alias)
        reevaluate(ctx, pull, error.message, current.version if current else None)
        return
    if promotion.changed:
        announce(ctx, pull, settings, promotion, ref=pull.merge_commit_sha or job["sha"])


def holds_only_the_pull(ctx: Context, pull: PullRequest) -> bool:
    """Whether the merge commit adds nothing to the PR's head but itself (main had not moved on)."""
    merge = pull.merge_commit_sha
    if not merge or merge == pull.head_sha:
        return True
    since_head = ctx.forge.compare(pull.repo, pull.head_sha, merge)
    return since_head.status == "ahead" and since_head.ahead_by == 1


def superseded_by(
    ctx: Context, tracker: Tracker, model: str, alias: str, repo: str, sha: str, run_id: str,
) -> ModelVersionRef | None:
    """The production version, when it was trained on a commit that already contains `sha`."""
    current = tracker.production_version(model, alias)
    if current is None or not current.sha or current.run_id == run_id:
        return None
    try:
        return current if ctx.forge.compare(repo, sha, current.sha).head_contains_base else None
    except ForgeError as error:
        if error.status == 404:  # production came from a commit this repository does not have
            return None
        raise


def reevaluate(ctx: Context, pull: PullRequest, why: str, production: str | None) -> None:
    """Train the merge commit against production `production` and judge that run instead."""
    sha = pull.merge_commit_sha
    if not sha:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote: {why}, and GitHub reported "
                                 "no merge commit to re-evaluate.")
        return
    ctx.forge.create_comment(pull.repo, pull.number, f"Not promoted yet: {why}. I am training the merge "
                             f"commit {sha[:7]} against the current production model and will promote it "
                             "if the gates pass.")
    lifecycle.start_training(ctx, pull, trigger="merge", sha=sha, production=production)


def announce(ctx: Context, pull: PullRequest, settings: RepoSettings, promotion: Promotion, *, ref: str,
             verb: str = "promoted") -> None:
    """GitHub deployment + status, GTO-style tags, and the comment saying what moved."""
    config = settings.config
    was = f"v{promotion.previous}" if promotion.previous else "none"
    if config.promote.deployment:
        deployment = ctx.forge.create_deployment(
            pull.repo, ref, config.promote.alias, f"{config.model} v{promotion.version}",
            {"model": config.model, "version": promotion.version, "previous": promotion.previous},
        )
        ctx.forge.create_deployment_status(pull.repo, deployment, "success",
                                           f"{config.model} v{promotion.version} is {config.promote.alias}")
    if config.promote.git_tag:
        seq = promotion.entry.seq if promotion.entry else 0
        message = f"{verb} {config.model} v{promotion.version} to {config.promote.alias} (was {was})"
        if verb == "promoted":
            ctx.forge.create_tag(pull.repo, f"{config.model}@v{promotion.version}.0.0", ref,
                                 f"register {config.model} v{promotion.version}")
        ctx.forge.create_tag(pull.repo, f"{config.model}#{config.promote.alias}#{seq}", ref, message)
    ctx.forge.create_comment(pull.repo, pull.number, f"🚀 {verb} **{config.model}** v{promotion.version} to "
                             f"{config.promote.alias} (was {was}).")
