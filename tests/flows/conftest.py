"""End-to-end flows: the sandbox GitHub, `mlbot serve` with the local runner, MLflow on SQLite."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from bot.adapters.mlflow.tracker import MlflowTracker
from bot.adapters.runners import LocalRunner
from bot.demo.stack import LocalStack
from bot.ports import RunRecord, TrainingJob
from bot.sandbox.webhooks import sign_headers
from tests.conftest import EXAMPLES

REPO = "acme/breast-cancer"
AUTHOR, REVIEWER, MAINTAINER, OUTSIDER = "alice", "rey", "maya", "mallory"
MARKER = "<!-- mlbot:report model=breast-cancer -->"


def example_files(params: dict[str, object]) -> dict[str, str | bytes]:
    """The breast-cancer example repository, with `params` for its estimator."""
    root = EXAMPLES / "breast-cancer"
    files: dict[str, str | bytes] = {str(p.relative_to(root)): p.read_bytes()
                                     for p in root.rglob("*") if p.is_file()}
    files["mlbot.yaml"] = with_params(files["mlbot.yaml"], params)
    return files


def with_params(config: str | bytes, params: dict[str, object]) -> str:
    data = yaml.safe_load(config)
    data["train"]["params"] = {**params, "random_state": 0}
    return yaml.safe_dump(data, sort_keys=False)


# the demo's baseline: against it BETTER clears the roc_auc gate (max_drop 0.005) by DeLong on 114 rows
BASELINE = {"n_estimators": 5, "max_depth": 3}
BETTER = {"n_estimators": 60, "max_depth": None}
WORSE = {"n_estimators": 1, "max_depth": 1}


@dataclass
class Flow:
    stack: LocalStack
    tracker: MlflowTracker

    @property
    def github(self):  # type: ignore[no-untyped-def]
        return self.stack.github

    def settle(self) -> None:
        self.stack.settle()

    def bot_comments(self, number: int) -> list[str]:
        return [c.body for c in self.github.comments(REPO, number) if c.author == self.stack.bot_login]

    def reports(self, number: int) -> list[str]:
        return [body for body in self.bot_comments(number) if body.startswith(MARKER)]

    def check(self, sha: str, name: str) -> tuple[str, str | None]:
        runs = [r for r in self.github.check_runs(REPO, sha) if r.name == name]
        assert runs, f"no {name} check on {sha[:7]}"
        newest = max(runs, key=lambda r: r.id)
        return newest.status, newest.conclusion

    def production(self) -> str | None:
        current = self.tracker.production_version("breast-cancer")
        return current.version if current else None

    def say(self, number: int, body: str, author: str) -> int:
        """Comment on pull request `number` as `author`; return the comment id."""
        return int(self.github.comment(REPO, number, body, author))

    def reactions(self, comment_id: int) -> list[str]:
        """The bot's reactions on a comment, in the order it added them."""
        comment = self.github.store.comment(REPO, comment_id)
        return [r.content for r in comment.reactions if r.user == self.stack.bot_login]

    def replies(self, number: int, after: int) -> list[str]:
        """The bot's comments on `number` written after comment `after` (reports excluded)."""
        return [c.body for c in self.github.comments(REPO, number)
                if c.author == self.stack.bot_login and c.id > after and not c.body.startswith(MARKER)]

    def runs_of(self, sha: str) -> list[RunRecord]:
        """Every finished MLflow run logged for commit `sha`."""
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.stack.tracking_uri)
        experiment = client.get_experiment_by_name("breast-cancer")
        found = client.search_runs([experiment.experiment_id], f"tags.`mlbot.sha` = '{sha}' and "
                                   "tags.`mlbot.status` = 'finished'")
        return [self.tracker.load_run_record(r.info.run_id) for r in found]

    def post_again(self, delivery_id: str) -> int:
        """Post a logged delivery to the bot under a NEW delivery id, correctly signed; the HTTP status."""
        original = next(d for d in self.github.deliveries() if d.id == delivery_id)
        body = json.dumps(original.payload).encode()
        headers = sign_headers(original.event, str(uuid.uuid4()), body, self.stack.secret)
        return httpx.post(f"{self.stack.bot_url}/webhook", content=body, headers=headers, timeout=30).status_code

    def open_pull(self, branch: str, params: dict[str, object], author: str = AUTHOR,
                  extra: dict[str, str | bytes | None] | None = None) -> tuple[int, str]:
        files: dict[str, str | bytes | None] = {"mlbot.yaml": with_params(
            (EXAMPLES / "breast-cancer" / "mlbot.yaml").read_text(), params), **(extra or {})}
        sha = self.github.push_commit(REPO, branch, files, f"Try {params}", author=author)
        number = self.github.open_pull(REPO, branch, "main", f"Model: {params}", author)
        return number, sha


@contextmanager
def started_flow(tmp_path: Path) -> Iterator[Flow]:
    """A running stack with the example repo on main, its baseline trained and promoted as v1."""
    with LocalStack(tmp_path / "stack") as stack:
        github = stack.github
        github.create_repo(REPO, example_files(BASELINE))
        for login, role in ((AUTHOR, "write"), (REVIEWER, "write"), (MAINTAINER, "maintain")):
            github.set_role(REPO, login, role)
        tracker = MlflowTracker(stack.tracking_uri, lock_dir=tmp_path / "locks")
        main = github.branch_sha(REPO, "main")
        (stack.workdir / "bot").mkdir(parents=True, exist_ok=True)
        runner = LocalRunner(clone_url=str(stack.workdir / "sandbox" / "repos") + "/{repo}.git",
                             tracking_uri=stack.tracking_uri, cwd=stack.workdir / "bot")
        outcome = runner.dispatch(TrainingJob(repo=REPO, sha=main, pr=None, branch="main", trigger="manual"))
        assert outcome.ok and outcome.run_id, outcome.log_tail
        tracker.promote("breast-cancer", outcome.run_id, by=MAINTAINER, reason="baseline")
        yield Flow(stack, tracker)


@pytest.fixture
def flow(tmp_path: Path) -> Iterator[Flow]:
    """A running stack with the example repo on main, its baseline trained and promoted as v1."""
    with started_flow(tmp_path) as running:
        yield running
