"""Actions-only mode: reading the job's event and environment, finding the PR, base-branch config."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.github.client import GitHubForge
from bot.core.errors import NotFound, UsageError
from bot.sandbox import SandboxServer
from bot.service.actions_mode import (
    ACTIONS_BOT_LOGIN,
    actions_forge,
    pull_number_from_message,
    read_trigger,
    resolve_pull,
    trigger_from_event,
)
from bot.service.settings import ActionsEnvironment, actions_environment, load_settings
from bot.usecases.repo_state import load_settings as read_repo_settings

from .events import examples, pull_request_event, push_event

REPO = "acme/churn"
CONFIG = "model: churn\ntask: classification\ndata: {train: t.csv, eval: e.csv, target: y}\n" \
    "train: {estimator: sklearn.linear_model.LogisticRegression}\nmetrics: [accuracy]\n"
POLICY = "gates:\n  - name: accuracy floor\n    metric: accuracy\n    min: 0.9\n"
LOOSER = "gates:\n  - name: accuracy floor\n    metric: accuracy\n    min: 0.1\n"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """`acme/churn` with mlbot.yaml and a policy on main; the Actions bot may write."""
    with SandboxServer(tmp_path / "sandbox") as server:
        server.github.create_repo(REPO, {"mlbot.yaml": CONFIG, "policies/default.yaml": POLICY,
                                         "policies/README.md": "not a policy\n"})
        server.github.set_role(REPO, "alice", "write")
        server.github.set_role(REPO, ACTIONS_BOT_LOGIN, "write")
        yield server


@pytest.fixture
def forge(sandbox: SandboxServer) -> GitHubForge:
    env = ActionsEnvironment("pull_request", Path("unused"), REPO, api_url=sandbox.api_url,
                             token=sandbox.github.token_for(ACTIONS_BOT_LOGIN))
    return actions_forge(env, load_settings(github_retry_attempts=1))


def test_every_pull_request_example_gives_the_head_and_base() -> None:
    for payload in examples("pull_request"):
        trigger = trigger_from_event("pull_request", payload, "Codertocat/Hello-World", "https://run")
        pull = payload["pull_request"]
        assert (trigger.pr, trigger.sha, trigger.base_sha) == (pull["number"], pull["head"]["sha"],
                                                               pull["base"]["sha"])
        assert trigger.run_url == "https://run"


def test_push_examples_give_the_pushed_commit() -> None:
    for payload in examples("push"):
        trigger = trigger_from_event("push", payload, "Codertocat/Hello-World")
        assert (trigger.sha, trigger.ref) == (payload["after"], payload["ref"]) and trigger.pr is None


def test_dispatch_inputs_and_unsupported_events() -> None:
    trigger = trigger_from_event("workflow_dispatch", {"inputs": {"sha": "a" * 40, "pr": "7"}}, REPO)
    assert (trigger.sha, trigger.pr) == ("a" * 40, 7)
    with pytest.raises(UsageError, match="cannot act on the issues event"):
        trigger_from_event("issues", {}, REPO)
    with pytest.raises(UsageError, match="no pull request head and base"):
        trigger_from_event("pull_request", {"pull_request": {"number": 1}}, REPO)


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("Merge pull request #12 from alice/faster\n\nFaster model", 12),
        ("Faster model (#34)\n\n* squashed", 34),
        ("Fix typo in README", None),
        ("", None),
        ("Revert #12 and more", None),
    ],
)
def test_pull_number_from_message(message: str, number: int | None) -> None:
    assert pull_number_from_message(message) == number


def test_the_environment_reader_and_the_event_file(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(examples("pull_request")[0]))
    env = actions_environment({
        "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World", "GITHUB_TOKEN": "t", "GITHUB_RUN_ID": "42",
        "GITHUB_SERVER_URL": "https://github.example.com", "GITHUB_SHA": "b" * 40,
    })
    assert env is not None
    assert env.api_url == "https://api.github.com"
    assert env.run_url == "https://github.example.com/Codertocat/Hello-World/actions/runs/42"
    trigger = read_trigger(env)
    assert trigger.pr == 2 and trigger.run_url == env.run_url
    assert actions_environment({"GITHUB_REPOSITORY": "a/b"}) is None

    missing = ActionsEnvironment("pull_request", tmp_path / "nope.json", "a/b")
    with pytest.raises(UsageError, match="cannot read the Actions event file"):
        read_trigger(missing)


def test_a_token_is_required() -> None:
    with pytest.raises(UsageError, match="GITHUB_TOKEN is not set"):
        actions_forge(ActionsEnvironment("push", Path("e"), REPO), load_settings())


def test_config_and_policies_come_from_the_base_commit(sandbox: SandboxServer, forge: GitHubForge) -> None:
    sandbox.github.push_commit(REPO, "looser", {"policies/default.yaml": LOOSER, "mlbot.yaml": "model: x\n"},
                               author="alice")
    number = sandbox.github.open_pull(REPO, "looser", "main", "Loosen the gates", "alice")
    trigger = trigger_from_event("pull_request", pull_request_event(sandbox, REPO, number), REPO)
    assert resolve_pull(forge, trigger).head_ref == "looser"
    assert trigger.base_sha is not None
    base = read_repo_settings(forge, REPO, trigger.base_sha)
    assert base.config.model == "churn"
    assert base.policies == {"policies/default.yaml": POLICY}


def test_a_push_resolves_to_the_pull_request_it_merged(sandbox: SandboxServer, forge: GitHubForge) -> None:
    sandbox.github.push_commit(REPO, "better", {"src/model.py": "x = 1\n"}, author="alice")
    number = sandbox.github.open_pull(REPO, "better", "main", "Better model", "alice")
    merged = sandbox.github.merge(REPO, number, by="alice")
    push = push_event(merged, f"Merge pull request #{number} from acme/better\n\nBetter model", "alice")
    trigger = trigger_from_event("push", push, REPO)
    assert trigger.actor == "alice"
    pull = resolve_pull(forge, trigger)
    assert (pull.number, pull.merged, pull.merge_commit_sha) == (number, True, merged)

    unrelated = sandbox.github.push_commit(REPO, "main", {"README.md": "hi\n"}, message="Fix README")
    push.update(after=unrelated, head_commit={"id": unrelated, "message": "Fix README"})
    with pytest.raises(NotFound, match="no pull request is associated with push"):
        resolve_pull(forge, trigger_from_event("push", push, REPO))
    push.update(head_commit={"id": unrelated, "message": f"Merge pull request #{number} from x/y"})
    with pytest.raises(NotFound, match=f"pull request #{number} was not merged as"):
        resolve_pull(forge, trigger_from_event("push", push, REPO))
