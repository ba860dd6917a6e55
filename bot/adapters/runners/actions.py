"""The Actions runner: dispatch the training workflow of the default branch; `workflow_run` reports the end."""

from __future__ import annotations

import json

from bot.ports import Forge, TrainingJob


class ActionsRunner:
    """Train in GitHub Actions via `workflow_dispatch` on the default branch, sha as an input."""

    def __init__(self, forge: Forge) -> None:
        self.forge = forge

    def dispatch(self, job: TrainingJob) -> None:
        """Trigger the training workflow; ForgeError when GitHub refuses it."""
        inputs = {
            "sha": job.sha,
            "pr": "" if job.pr is None else str(job.pr),
            "params": json.dumps(job.params, sort_keys=True),
        }
        # ref is the default branch: the workflow file there is trusted, the PR's copy is not
        self.forge.dispatch_workflow(job.repo, job.workflow, ref=job.default_branch, inputs=inputs)
