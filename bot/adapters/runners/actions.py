"""The Actions runner: dispatch the default branch's workflows; their runs report back (webhook, issue)."""

from __future__ import annotations

import json

from bot.ports import Forge, RefreshJob, TrainingJob, WatchJob

WATCH_WORKFLOW = "mlbot-watch.yml"  # written by `mlbot init`; runs `mlbot watch --post`, or the refresh


class ActionsRunner:
    """Train in GitHub Actions via `workflow_dispatch` on the default branch, sha as an input."""

    def __init__(self, forge: Forge) -> None:
        self.forge = forge

    stopping = False  # nothing runs here: the workflow runs on GitHub's side

    def stop_all(self) -> int:
        """Nothing to stop: dispatched runs go on in Actions and report back by webhook."""
        return 0

    def dispatch(self, job: TrainingJob) -> None:
        """Trigger the training workflow; ForgeError when GitHub refuses it."""
        inputs = {
            "sha": job.sha,
            "pr": "" if job.pr is None else str(job.pr),
            "params": json.dumps(job.params, sort_keys=True),
        }
        if job.nonce:  # echoed in the run's name: how the completed run proves the bot dispatched it
            inputs["nonce"] = job.nonce
        # ref is the default branch: the workflow file there is trusted, the PR's copy is not
        self.forge.dispatch_workflow(job.repo, job.workflow, ref=job.default_branch, inputs=inputs)

    def watch(self, job: WatchJob) -> None:
        """Dispatch the watch workflow on the default branch; `mlbot watch --post` there keeps the issue."""
        self.forge.dispatch_workflow(job.repo, WATCH_WORKFLOW, ref=job.branch, inputs={})

    def refresh(self, job: RefreshJob) -> None:
        """Dispatch the watch workflow's refresh: it runs `watch.refresh` and proposes what changed."""
        self.forge.dispatch_workflow(job.repo, WATCH_WORKFLOW, ref=job.branch,
                                     inputs={"refresh": str(job.issue), "requested_by": job.by})
