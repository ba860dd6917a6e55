"""The Actions runner: dispatch the training workflow of the default branch; `workflow_run` reports the end."""

from __future__ import annotations

import json

from bot.ports import Forge, TrainingJob


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
