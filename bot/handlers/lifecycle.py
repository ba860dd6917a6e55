"""The pull-request lifecycle: train what moved, run queued local trainings, hand outcomes to reporting.

Routes: `pull_request` opened/synchronize/reopened/ready_for_review, the internal jobs
`mlbot.train` and `mlbot.trained`, and `workflow_run` completed for Actions training.
"""

from __future__ import annotations

import logging
import re

from bot.core.events import Event, PullRequestEvent, UnknownEvent, WorkflowRunEvent
from bot.handlers.routing import Router
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.reporting import outcome_of_workflow, training_done, training_job_for
from bot.usecases.training import run_local, start_training

log = logging.getLogger("mlbot.lifecycle")
router = Router()

RUN_NAME = re.compile(r"sha=([0-9a-f]{7,40})\b.*?pr=(\d*)")


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
    outcome = outcome_of_workflow(ctx, pull, sha, event.conclusion, event.html_url)
    training_done(ctx, jobs.TrainingFinished(training_job_for(pull, sha), outcome),
                  details_url=event.html_url or None)
