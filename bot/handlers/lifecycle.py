"""The pull-request lifecycle: train what moved, run queued local trainings, hand outcomes to reporting.

Routes: `pull_request` opened/synchronize/reopened/ready_for_review, the internal jobs
`mlbot.train` and `mlbot.trained`, and `workflow_run` completed for Actions training.
"""

from __future__ import annotations

import logging
import re

from bot.core.authz import nonce_matches
from bot.core.events import Event, PullRequestEvent, UnknownEvent, WorkflowRunEvent
from bot.handlers.routing import Router
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.repo_state import read_settings, settings_ref
from bot.usecases.reporting import outcome_of_workflow, training_done, training_job_for
from bot.usecases.training import run_local, start_training

log = logging.getLogger("mlbot.lifecycle")
router = Router()

RUN_NAME = re.compile(r"sha=(?P<sha>[0-9a-f]{40})\b.*?\bpr=(?P<pr>\d+)\b.*?\bnonce=(?P<nonce>[0-9a-f]{32})\b")


@router.register("pull_request", "opened")
@router.register("pull_request", "synchronize")
@router.register("pull_request", "reopened")
@router.register("pull_request", "ready_for_review")
def train_pull_request(event: Event, ctx: Context) -> None:
    """A PR appeared or moved: train its head commit if it is trusted and touches model inputs."""
    if not isinstance(event, PullRequestEvent) or event.pull is None or event.pull.draft:
        return
    start_training(ctx, event.pull, trigger="pull_request")


@router.register(jobs.TrainRequested.kind)
def run_queued_training(event: Event, ctx: Context) -> None:
    """Run a queued training on this machine; its outcome is queued for reporting."""
    if isinstance(event, UnknownEvent):
        run_local(ctx, jobs.TrainRequested.from_payload(event.payload))


@router.register(jobs.TrainingFinished.kind)
def training_finished(event: Event, ctx: Context) -> None:
    """A local run finished: report it (or, for a merge commit, go on to promotion)."""
    if isinstance(event, UnknownEvent):
        training_done(ctx, jobs.TrainingFinished.from_payload(event.payload))


@router.register("workflow_run", "completed")
def workflow_finished(event: Event, ctx: Context) -> None:
    """An Actions training run finished: if it is one the bot dispatched, report it like a local run.

    A run counts only when it is a `workflow_dispatch` of the configured workflow on the default
    branch whose name carries the nonce the bot signed for that repository, commit and pull request:
    the name alone is free text any workflow (a fork's included) can set.
    """
    if not isinstance(event, WorkflowRunEvent):
        return
    claim = RUN_NAME.search(event.display_title)
    if event.event != "workflow_dispatch" or claim is None:
        log.info("workflow run %s (%s) is not an mlbot training", event.run_id, event.display_title[:80])
        return
    sha, pr = claim.group("sha"), int(claim.group("pr"))
    if not nonce_matches(ctx.signing_keys, claim.group("nonce"), event.repo, sha, pr):
        log.warning("ignoring workflow run %s on %s: its nonce is not one I signed for %s of #%s", event.run_id,
                    event.repo, sha[:7], pr)
        return
    pull = ctx.forge.get_pull(event.repo, pr)
    workflow = read_settings(ctx, pull.repo, settings_ref(pull)).config.ci.workflow
    default = pull.default_branch or ctx.forge.default_branch(pull.repo)
    if event.workflow_path.rsplit("/", 1)[-1] != workflow or event.head_branch != default:
        log.warning("ignoring workflow run %s: %s on %s is not %s on %s", event.run_id, event.workflow_path,
                    event.head_branch, workflow, default)
        return
    outcome = outcome_of_workflow(ctx, pull, sha, event.conclusion, event.html_url)
    training_done(ctx, jobs.TrainingFinished(training_job_for(pull, sha), outcome),
                  details_url=event.html_url or None)
