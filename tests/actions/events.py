"""GitHub's example webhook payloads (@octokit/webhooks-examples), adapted to the sandbox."""

from __future__ import annotations

import copy
import json
from typing import Any

from bot.sandbox import SandboxServer
from tests.npm_cache import npm_package


def examples(event: str) -> list[dict[str, Any]]:
    """GitHub's own example payloads for `event`."""
    index = npm_package("@octokit/webhooks-examples") / "api.github.com" / "index.json"
    found = next(e for e in json.loads(index.read_text()) if e["name"] == event)
    payloads: list[dict[str, Any]] = found["examples"]
    return payloads


def pull_request_event(sandbox: SandboxServer, repo: str, number: int) -> dict[str, Any]:
    """GitHub's `opened` example, pointed at pull request `number` of the sandbox."""
    event = copy.deepcopy(next(e for e in examples("pull_request") if e["action"] == "opened"))
    pull = sandbox.github.pull_payload(sandbox.github.store.pull(repo, number))
    event.update(number=number, pull_request={**event["pull_request"], **pull})
    return event


def push_event(sha: str, message: str, pusher: str, branch: str = "main") -> dict[str, Any]:
    """GitHub's branch push example, for commit `sha` with `message`."""
    event = copy.deepcopy(next(e for e in examples("push") if e["ref"].startswith("refs/heads/")))
    event.update(ref=f"refs/heads/{branch}", after=sha,
                 head_commit={**(event.get("head_commit") or {}), "id": sha, "message": message},
                 sender={**event["sender"], "login": pusher})
    return event
