"""GitHub's example webhook payloads (`@octokit/webhooks-examples`, api.github.com), fetched by npm."""

from __future__ import annotations

import json
from typing import Any

from tests.npm_cache import npm_package


def webhook_examples() -> list[tuple[str, dict[str, Any]]]:
    """Every (event name, payload) example for api.github.com."""
    index = npm_package("@octokit/webhooks-examples") / "api.github.com" / "index.json"
    return [(entry["name"], example) for entry in json.loads(index.read_text())
            for example in entry["examples"]]


def example(event: str, action: str | None = None) -> dict[str, Any]:
    """The first example of `event` (with `action`, when given)."""
    for name, payload in webhook_examples():
        if name == event and (action is None or payload.get("action") == action):
            return payload
    raise LookupError(f"no example for {event}.{action}")
