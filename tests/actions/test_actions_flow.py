"""Actions-only mode end to end: the report job posts to the sandbox, the push job promotes or refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.mlflow.tracker import MlflowTracker
from bot.core.report import marker
from bot.sandbox import SandboxServer
from bot.service.actions_mode import ACTIONS_BOT_LOGIN

from .cli import run
from .events import pull_request_event, push_event

REPO = "acme/credit"
STRICT = "gates:\n  - name: accuracy floor\n    metric: accuracy\n    min: 0.999\n"
RUN_ID = "4242"


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture
def project(repo: Path, breast_cancer_csv: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A repository scaffolded by `mlbot init` (the local checkout the training job would have)."""
    assert run(capsys, "init", str(repo), "--data", str(breast_cancer_csv), "--target", "label")[0] == 0
    return repo


@pytest.fixture
def sandbox(tmp_path: Path, project: Path) -> Iterator[SandboxServer]:
    """The project pushed to `acme/credit`; alice may write, so may the workflow token's bot."""
    files = {p.relative_to(project).as_posix(): p.read_bytes() for p in project.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(project).parts}
    with SandboxServer(tmp_path / "sandbox") as server:
        server.github.create_repo(REPO, files)
        server.github.set_role(REPO, "alice", "write")
        server.github.set_role(REPO, ACTIONS_BOT_LOGIN, "write")
        yield server


def in_actions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox: SandboxServer, event: str,
               payload: dict[str, Any]) -> None:
    """Set the variables a GitHub Actions job has, with `payload` as its event file."""
    path = tmp_path / f"{event}.json"
    path.write_text(json.dumps(payload))
    for key, value in {
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": sandbox.api_url, "GITHUB_SERVER_URL": sandbox.api_url,
        "GITHUB_TOKEN": sandbox.github.token_for(ACTIONS_BOT_LOGIN), "GITHUB_RUN_ID": RUN_ID,
        "GITHUB_SHA": str(payload.get("after") or ""), "MLBOT_GITHUB_RETRY_ATTEMPTS": "1",
    }.items():
        monkeypatch.setenv(key, value)


def train(capsys: pytest.CaptureFixture[str], project: Path, sha: str, pr: int, *extra: str) -> str:
    code, out, err = run(capsys, "train", "--project", str(project), "--sha", sha, "--pr", str(pr),
                         "--repo", REPO, "--trigger", "pull_request", *extra)
    assert code == 0, out + err
    return out.split("run_id=")[-1].strip()


def open_pull(sandbox: SandboxServer, branch: str, files: dict[str, str | bytes | None]) -> tuple[int, str]:
    head = sandbox.github.push_commit(REPO, branch, files, author="alice")
    return sandbox.github.open_pull(REPO, branch, "main", f"Change {branch}", "alice"), head


def bot_comments(sandbox: SandboxServer, number: int) -> list[Any]:
    return [c for c in sandbox.github.comments(REPO, number) if c.author == ACTIONS_BOT_LOGIN]


def test_report_posts_then_edits_and_the_merge_promotes_or_refuses(
    project: Path, sandbox: SandboxServer, tracking: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    model = project.name
    # PR 1 adds a gate it could never pass: the base branch's policies judge it, not its own
    number, head = open_pull(sandbox, "better", {"policies/strict.yaml": STRICT})
    train(capsys, project, head, number)
    in_actions(monkeypatch, tmp_path, sandbox, "pull_request", pull_request_event(sandbox, REPO, number))

    code, out, err = run(capsys, "report", "--post", "--format", "json")
    assert code == 0, out + err
    assert json.loads(out)["promotable"] is True
    [comment] = bot_comments(sandbox, number)
    assert comment.body.startswith(marker(model))
    [check] = [c for c in sandbox.github.check_runs(REPO, head) if c.name == "mlbot/gates"]
    assert (check.status, check.conclusion) == ("completed", "success")
    assert check.details_url == f"{sandbox.api_url}/{REPO}/actions/runs/{RUN_ID}"

    assert run(capsys, "report", "--post")[0] == 0  # the same comment, edited in place
    [again] = bot_comments(sandbox, number)
    assert again.id == comment.id and again.body.startswith(marker(model))
    assert len([c for c in sandbox.github.check_runs(REPO, head) if c.name == "mlbot/gates"]) == 1

    merged = sandbox.github.merge(REPO, number, by="alice")
    in_actions(monkeypatch, tmp_path, sandbox, "push",
               push_event(merged, f"Merge pull request #{number} from acme/better", "alice"))
    code, out, err = run(capsys, "promote")
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"promoted {model} v1 to production (first promotion)", "version=1"]
    tracker = MlflowTracker(tracking)
    production = tracker.production_version(model)
    assert production is not None and production.version == "1"
    assert bot_comments(sandbox, number)[-1].body.startswith(f"🚀 promoted **{model}** v1")
    assert f"{model}@v1.0.0" in sandbox.github.tags(REPO)

    # PR 2 is judged by main, which now has the strict gate: the merge is refused
    number, head = open_pull(sandbox, "smaller", {"README.md": "smaller model\n"})
    train(capsys, project, head, number, "--params", '{"n_estimators": 5}')
    merged = sandbox.github.merge(REPO, number, by="alice")
    in_actions(monkeypatch, tmp_path, sandbox, "push", push_event(merged, "Smaller model (#2)", "alice"))
    code, out, err = run(capsys, "promote")
    assert code == 1
    assert err.startswith(f"error: I did not promote {model}: ")
    assert "blocking gate(s) did not pass. Production stays where it is." in err and "accuracy floor: fail" in err
    [refusal] = bot_comments(sandbox, number)
    assert "accuracy floor: fail" in refusal.body and "Production stays where it is." in refusal.body
    production = tracker.production_version(model)
    assert production is not None and production.version == "1"


def test_post_outside_actions_says_where_it_works(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "report", "--post")
    assert code == 2
    assert err == ("error: --post works inside a GitHub Actions job (GITHUB_EVENT_PATH is not set)\n"
                   "  next: run it in the workflow's report job, or drop --post to print the report\n")
