"""The local runner end to end: a pull request's commit fitted by the real `mlbot fit` in the sandbox, then
evaluated by the real `mlbot evaluate` outside it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.adapters.runners import LocalRunner
from bot.ports import TrainingJob
from tests.lifecycle.helpers import git
from tests.sandboxing import bwrap

__all__ = ["bwrap"]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "command-mode"

# Appended to the example's train.py on the PR branch: the untrusted code looks for secrets and says
# what it found on its output, the only channel out of the sandbox besides its model.
SNOOP = '''
print("SNOOP " + json.dumps(sorted(os.environ)))
'''


@pytest.mark.usefixtures("bwrap")
def test_pull_request_is_fitted_in_the_sandbox_without_secrets_and_evaluated_by_mlbot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work)
    git(work, "init", "-q")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "example")
    git(work, "checkout", "-q", "-b", "tweak")
    with (work / "train.py").open("a") as script:
        script.write(SNOOP)
    git(work, "commit", "-q", "-am", "snoop")
    sha = git(work, "rev-parse", "HEAD")
    for secret in ("MLBOT_GITHUB_TOKEN", "MLBOT_GITHUB_PRIVATE_KEY", "MLBOT_WEBHOOK_SECRET", "GH_TOKEN"):
        monkeypatch.setenv(secret, "s3cret")
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runner = LocalRunner(clone_url=str(work), tracking_uri=tracking_uri, cwd=tmp_path, timeout=300)

    outcome = runner.dispatch(TrainingJob(repo="acme/iris", sha=sha, pr=7, branch="tweak", trigger="command",
                                          params={"C": 0.5}))

    assert outcome.ok, outcome.log_tail
    assert outcome.run_id and outcome.log_tail.endswith(f"run_id={outcome.run_id}")
    [snooped] = [line for line in outcome.log_tail.splitlines() if "SNOOP " in line]
    seen = json.loads(snooped.split("SNOOP ", 1)[1])
    assert "MLBOT_MODEL_PATH" in seen  # what `mlbot fit` hands the command, and nothing of the bot's
    assert not [key for key in seen if key.startswith(("MLBOT_GITHUB", "MLBOT_WEBHOOK", "GH_TOKEN", "MLFLOW_"))]

    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri).get_run(outcome.run_id)
    expected = {"mlbot.repo": "acme/iris", "mlbot.sha": sha, "mlbot.pr": "7", "mlbot.trigger": "command"}
    assert {key: run.data.tags.get(key) for key in expected} == expected
    assert run.data.params["C"] == "0.5"
