"""The local runner end to end: a pull request's commit trained by the real `mlbot train`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.adapters.runners import LocalRunner
from bot.ports import TrainingJob
from tests.lifecycle.helpers import git

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "command-mode"

# Appended to the example's train.py on the PR branch: the untrusted code looks for secrets.
SNOOP = '''
with open(os.environ["SNOOP_TO"], "w") as out:
    json.dump(sorted(os.environ), out)
'''


def test_pull_request_is_trained_by_mlbot_train_without_secrets(
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
    snoop = tmp_path / "environ.json"
    for secret in ("MLBOT_GITHUB_TOKEN", "MLBOT_GITHUB_PRIVATE_KEY", "MLBOT_WEBHOOK_SECRET", "GH_TOKEN"):
        monkeypatch.setenv(secret, "s3cret")
    monkeypatch.setenv("SNOOP_TO", str(snoop))
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runner = LocalRunner(clone_url=str(work), tracking_uri=tracking_uri, cwd=tmp_path, timeout=300)

    outcome = runner.dispatch(TrainingJob(repo="acme/iris", sha=sha, pr=7, branch="tweak", trigger="command",
                                          params={"C": 0.5}))

    assert outcome.ok, outcome.log_tail
    assert outcome.run_id and outcome.log_tail.endswith(f"run_id={outcome.run_id}")
    seen = json.loads(snoop.read_text())
    assert "SNOOP_TO" in seen and "MLFLOW_TRACKING_URI" in seen
    assert not [key for key in seen if key.startswith(("MLBOT_GITHUB", "MLBOT_WEBHOOK", "GH_TOKEN"))]

    from mlflow.tracking import MlflowClient

    run = MlflowClient(tracking_uri).get_run(outcome.run_id)
    expected = {"mlbot.repo": "acme/iris", "mlbot.sha": sha, "mlbot.pr": "7", "mlbot.trigger": "command"}
    assert {key: run.data.tags.get(key) for key in expected} == expected
    assert run.data.params["C"] == "0.5"
