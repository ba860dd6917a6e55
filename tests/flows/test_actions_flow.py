"""The Actions runner: the bot dispatches the training workflow, and its `workflow_run` brings the report."""

from __future__ import annotations

import json

import yaml

from bot.adapters.runners import LocalRunner
from bot.ports import TrainingJob
from bot.scaffold import workflow_template
from tests.conftest import EXAMPLES
from tests.flows.conftest import BETTER, MAINTAINER, REPO, REVIEWER, Flow

WORKFLOW = ".github/workflows/mlbot-train.yml"


def actions_config(params: dict[str, object]) -> str:
    data = yaml.safe_load((EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text())
    data["train"]["params"] = {**params, "random_state": 0}
    data["ci"] = {**data["ci"], "runner": "actions", "workflow": "mlbot-train.yml"}
    return yaml.safe_dump(data, sort_keys=False)


def test_the_actions_runner_dispatches_on_main_and_reports_on_workflow_run(flow: Flow) -> None:
    flow.github.push_commit(REPO, "main", {"mlbot.yaml": actions_config({"n_estimators": 3, "max_depth": 2}),
                                           WORKFLOW: workflow_template()}, "Train on Actions", author=MAINTAINER)
    sha = flow.github.push_commit(REPO, "bigger", {"mlbot.yaml": actions_config(BETTER)}, "More trees",
                                  author="alice")
    number = flow.github.open_pull(REPO, "bigger", "main", "More trees", "alice")
    flow.settle()

    [run] = flow.github.dispatches(REPO)
    assert (run.ref, run.workflow_path) == ("main", WORKFLOW)
    assert run.inputs == {"sha": sha, "pr": str(number), "params": "{}", "nonce": run.inputs["nonce"]}
    assert len(run.inputs["nonce"]) == 32  # the bot's signed nonce, echoed back in the run's name
    assert run.display_title == f"mlbot train sha={sha} pr={number} nonce={run.inputs['nonce']}"
    assert flow.check(sha, "mlbot/train") == ("in_progress", None)
    assert flow.reports(number) == []

    # what the workflow's job does: `mlbot train` for the head sha, logged to the shared MLflow
    runner = LocalRunner(clone_url=str(flow.stack.workdir / "sandbox" / "repos") + "/{repo}.git",
                         tracking_uri=flow.stack.tracking_uri, cwd=flow.stack.workdir / "bot")
    trained = runner.dispatch(TrainingJob(repo=REPO, sha=sha, pr=number, branch="bigger"))
    assert trained is not None and trained.ok, trained
    flow.github.complete_workflow_run(REPO, run)
    flow.settle()
    assert flow.check(sha, "mlbot/train") == ("completed", "success")
    [check] = [r for r in flow.github.check_runs(REPO, sha) if r.name == "mlbot/train"]
    assert check.details_url and check.details_url.endswith(f"/actions/runs/{run.id}")
    [report] = flow.reports(number)
    assert trained.run_id and trained.run_id in report
    flow.github.review(REPO, number, REVIEWER, "APPROVED")
    flow.settle()
    assert flow.check(sha, "mlbot/gates") == ("completed", "success")

    # a /retrain dispatches again with its parameters; a failed workflow run fails mlbot/train
    retrain = flow.say(number, "/retrain max_depth=3", "alice")
    flow.settle()
    assert flow.reactions(retrain) == ["eyes", "rocket"]
    again = flow.github.dispatches(REPO)[-1]
    assert again.id != run.id and json.loads(again.inputs["params"]) == {"max_depth": 3}
    flow.github.complete_workflow_run(REPO, again, conclusion="failure")
    flow.settle()
    assert flow.check(sha, "mlbot/train") == ("completed", "failure")
    [failure] = flow.reports(number)
    assert "training failed" in failure and f"/actions/runs/{again.id}" in failure
