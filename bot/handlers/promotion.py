"""Promotion on merge: re-read fresh state, re-evaluate the gates, move the alias, announce it.

A redelivered merge changes nothing: the job is keyed on the merge, and the registry reports
`changed=False` when the version already is production. A stale comparison (production moved
since the PR was trained) is never promoted: the merge commit is trained again and judged anew.
"""

from __future__ import annotations

import logging

from bot.assess import describe_gate
from bot.errors import ConfigError, StaleBaseline
from bot.events import Event, PullRequestEvent, UnknownEvent
from bot.handlers import lifecycle
from bot.handlers.reporting import PROMOTE_JOB, judge
from bot.handlers.routing import Router
from bot.handlers.state import (
    GATES_CHECK,
    TRAIN_CHECK,
    NotConfigured,
    RepoSettings,
    find_check,
    read_settings,
)
from bot.ports import Context, Promotion, PullRequest

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
    config = settings.config
    run_id = job.get("run_id") or ctx.tracker.find_run(config.experiment_name, job["sha"])
    if run_id is None:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote anything: there is no finished "
                                 f"training run of {job['sha'][:7]} in MLflow. A maintainer can train the "
                                 "default branch and run `mlbot promote`.")
        return
    assessment = judge(ctx, pull, run_id, settings)
    if not assessment.promotable:
        failing = "\n".join(f"- {describe_gate(r)}" for r in assessment.evaluation.blocking)
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote **{config.model}**: "
                                 f"{len(assessment.evaluation.blocking)} blocking gate(s) did not pass at "
                                 f"merge time. Production stays where it is.\n\n{failing}")
        return
    if assessment.stale and not job.get("run_id"):
        reevaluate(ctx, pull, assessment.stale)
        return
    try:
        promotion = ctx.tracker.promote(config.model, run_id, by=str(job.get("by") or pull.author),
                                        alias=config.promote.alias, reason=f"merged #{pull.number}",
                                        pr=pull.number)
    except StaleBaseline as error:
        if job.get("run_id"):  # the re-evaluation itself went stale: production moved again
            ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote: {error.message}.")
            return
        reevaluate(ctx, pull, error.message)
        return
    if promotion.changed:
        announce(ctx, pull, settings, promotion, ref=pull.merge_commit_sha or job["sha"])


def reevaluate(ctx: Context, pull: PullRequest, why: str) -> None:
    """Production moved since the PR was judged: train the merge commit and judge that instead."""
    sha = pull.merge_commit_sha
    if not sha:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote: {why}, and GitHub reported "
                                 "no merge commit to re-evaluate.")
        return
    ctx.forge.create_comment(pull.repo, pull.number, f"Not promoted yet: {why}. I am training the merge "
                             f"commit {sha[:7]} against the current production model and will promote it "
                             "if the gates pass.")
    lifecycle.start_training(ctx, pull, trigger="merge", sha=sha)


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
