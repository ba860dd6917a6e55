"""End to end with the sandbox: its signed webhooks reach the service, the worker answers through PyGithub."""

from __future__ import annotations

import pytest

from bot.adapters.github.auth import TokenCredentials
from bot.adapters.github.client import GitHubForge
from bot.sandbox import SandboxServer
from tests.service.conftest import SECRET, wait_for

REPO = "acme/churn"


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_an_opened_pull_request_gets_a_neutral_train_check_through_the_sandbox(make_service, tmp_path, form):
    holder: dict[str, SandboxServer] = {}

    def forge() -> GitHubForge:
        return GitHubForge(holder["sandbox"].api_url, TokenCredentials(holder["sandbox"].bot_token),
                           bot_login="mlbot[bot]")

    service = make_service(workers=1, forge_factory=forge)
    with SandboxServer(tmp_path / "sandbox", webhook_url=service.url + "/webhook",
                       webhook_secret=SECRET) as sandbox:
        holder["sandbox"] = sandbox
        sandbox.github.configure_webhook(service.url + "/webhook", SECRET, form=form)
        sandbox.github.create_repo(REPO, {"README.md": "# churn\n"})
        sandbox.github.set_role(REPO, "alice", "write")
        sha = sandbox.github.push_commit(REPO, "feature", {"train.py": "print(1)\n"}, author="alice")
        sandbox.github.open_pull(REPO, "feature", "main", "Better model", "alice")
        sandbox.github.wait_idle()
        sent = sandbox.github.deliveries("pull_request")
        assert [(d.action, d.status) for d in sent] == [("opened", 202)]
        runs = wait_for(lambda: sandbox.github.check_runs(REPO, sha), what="the check run")
        assert [(r.name, r.status, r.conclusion) for r in runs] == [("mlbot/train", "completed", "neutral")]
        wait_for(lambda: service.queue.state(sent[0].id)[0] != "running", what="the job to settle")
        assert service.queue.state(sent[0].id) == ("done", 1, "")
