"""Webhooks reach a real HTTP receiver, signed like GitHub's, after the API call has returned."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest

from bot.sandbox import SandboxServer
from tests.sandbox.conftest import REPO
from tests.sandbox.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def test_deliveries_are_signed_and_logged(sandbox: SandboxServer, receiver: Receiver) -> None:
    sandbox.github.configure_webhook(receiver.url, "s3cret")
    sandbox.github.ping(REPO)
    sandbox.github.push_commit(REPO, "topic", {"a.txt": "a\n"}, "a", "alice")
    number = sandbox.github.open_pull(REPO, "topic", "main", "Topic", "alice")
    sandbox.github.comment(REPO, number, "/retrain n_estimators=300", "alice")
    sandbox.github.wait_idle()

    events = ["ping", "pull_request", "issue_comment"]
    assert [r.headers["x-github-event"] for r in receiver.received] == events
    for request in receiver.received:
        expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-hub-signature-256"] == f"sha256={expected}"
        sha1 = hmac.new(b"s3cret", request.body, "sha1").hexdigest()
        assert request.headers["x-hub-signature"] == f"sha1={sha1}"
        assert request.headers["user-agent"].startswith("GitHub-Hookshot/")
        assert request.headers["content-type"] == "application/json"
        uuid.UUID(request.headers["x-github-delivery"])
    comment = json.loads(receiver.received[2].body)
    assert (comment["comment"]["body"], comment["sender"]["login"]) == ("/retrain n_estimators=300", "alice")
    assert comment["issue"]["number"] == number and "pull_request" in comment["issue"]
    log = sandbox.github.deliveries()
    assert [(d.event, d.status) for d in log] == [(event, 202) for event in events]
    assert [d.id for d in log] == [r.headers["x-github-delivery"] for r in receiver.received]


def test_the_api_answers_before_the_webhook_is_delivered(sandbox: SandboxServer, receiver: Receiver) -> None:
    sandbox.github.configure_webhook(receiver.url, "s3cret")
    sandbox.github.push_commit(REPO, "topic", {"a.txt": "a\n"}, "a", "alice")
    number = sandbox.github.open_pull(REPO, "topic", "main", "Topic", "alice")
    sandbox.github.wait_idle()
    receiver.release.clear()  # the receiver now holds every delivery until released
    answer = httpx.post(f"{sandbox.api_url}/repos/{REPO}/issues/{number}/comments",
                        json={"body": "/report"},
                        headers={"Authorization": f"token {sandbox.github.token_for('bob')}"})
    assert answer.status_code == 201
    assert receiver.arrived.wait(timeout=30)
    pending = sandbox.github.deliveries("issue_comment")[-1]
    assert not pending.done and pending.status is None
    receiver.release.set()
    sandbox.github.wait_idle()
    assert pending.status == 202


def test_an_unreachable_receiver_is_logged_not_raised(sandbox: SandboxServer) -> None:
    sandbox.github.configure_webhook("http://127.0.0.1:9/webhook", "s3cret")
    sandbox.github.ping(REPO)
    sandbox.github.wait_idle()
    (delivery,) = sandbox.github.deliveries("ping")
    assert delivery.status is None and delivery.error is not None


def test_redelivery_keeps_the_delivery_id(sandbox: SandboxServer, receiver: Receiver) -> None:
    sandbox.github.configure_webhook(receiver.url, "s3cret")
    first = sandbox.github.ping(REPO)
    sandbox.github.redeliver(first.id)
    sandbox.github.wait_idle()
    ids = [r.headers["x-github-delivery"] for r in receiver.received]
    assert ids == [first.id, first.id]


def test_form_encoded_deliveries(sandbox: SandboxServer, receiver: Receiver) -> None:
    sandbox.github.configure_webhook(receiver.url, "s3cret", form=True)
    sandbox.github.ping(REPO)
    sandbox.github.wait_idle()
    (request,) = receiver.received
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-hub-signature-256"] == f"sha256={expected}"
    payload = json.loads(parse_qs(request.body.decode())["payload"][0])
    assert payload["zen"] and payload["hook"]["config"]["content_type"] == "form"
