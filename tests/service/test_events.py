"""The pure core of the edge: signatures, body decoding and typed events from GitHub's own examples."""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse

import pytest

from bot.core.events import (
    Event,
    InstallationEvent,
    IssueCommentEvent,
    MalformedDelivery,
    PingEvent,
    PullRequestEvent,
    PullRequestReviewEvent,
    UnknownEvent,
    WorkflowRunEvent,
    decode_body,
    parse_json,
    sign,
    verify_signature,
)
from tests.service.examples import example, webhook_examples

BODY = b'{"zen": "Keep it logically awesome."}'


@pytest.mark.parametrize(("header", "secrets", "ok"), [
    (sign(BODY, "a"), ["a"], True),
    (sign(BODY, "a"), ["b", "a"], True),  # rotation: the old secret still verifies
    (sign(BODY, "a"), ["b"], False),
    (sign(BODY, "a").upper().replace("SHA256=", "sha256="), ["a"], True),  # hex case does not matter
    (sign(BODY + b" ", "a"), ["a"], False),
    ("sha1=" + hmac.new(b"a", BODY, hashlib.sha1).hexdigest(), ["a"], False),
    ("sha256=", ["a"], False),
    ("sha256=zz", ["a"], False),
    ("sha256=é", ["a"], False),
    (None, ["a"], False),
    ("", ["a"], False),
    (sign(BODY, "a"), [], False),
])
def test_verify_signature(header, secrets, ok):
    assert verify_signature(BODY, header, secrets) is ok


def test_decode_body_unwraps_form_payload_and_passes_json_through():
    form = urllib.parse.urlencode({"payload": '{"a": "b&c=d"}'}).encode()
    assert decode_body("application/x-www-form-urlencoded; charset=utf-8", form) == b'{"a": "b&c=d"}'
    assert decode_body("application/json", BODY) == BODY
    with pytest.raises(MalformedDelivery, match="no `payload` field"):
        decode_body("application/x-www-form-urlencoded", b"other=1")


@pytest.mark.parametrize("text", [b"", b"{", b"[]", b'"x"', b"\xff\xfe"])
def test_parse_json_refuses_what_is_not_an_object(text):
    with pytest.raises(MalformedDelivery):
        parse_json(text)


def test_every_github_example_becomes_a_typed_event():
    kinds = {}
    for name, payload in webhook_examples():
        event = Event.from_payload(name, payload, "d-1")
        assert event.name == name and event.delivery_id == "d-1"
        assert event.action == payload.get("action", "")
        if payload.get("repository"):
            assert event.repo == payload["repository"]["full_name"]
        kinds[name] = type(event)
    assert kinds["pull_request"] is PullRequestEvent
    assert kinds["issue_comment"] is IssueCommentEvent
    assert kinds["workflow_run"] is WorkflowRunEvent
    assert kinds["pull_request_review"] is PullRequestReviewEvent
    assert kinds["installation"] is InstallationEvent
    assert kinds["ping"] is PingEvent
    assert kinds["star"] is UnknownEvent


def test_pull_request_fields():
    payload = example("pull_request", "opened")
    event = Event.from_payload("pull_request", payload)
    assert isinstance(event, PullRequestEvent) and event.pull is not None
    pr = payload["pull_request"]
    assert event.number == pr["number"]
    assert event.pull.head_sha == pr["head"]["sha"] and event.pull.base_ref == pr["base"]["ref"]
    assert event.pull.head_repo == pr["head"]["repo"]["full_name"]
    assert event.pull.author == pr["user"]["login"] and event.pull.draft == pr["draft"]
    assert event.sender == payload["sender"]["login"]
    assert event.installation_id == (payload.get("installation") or {}).get("id")


def test_closed_merged_pull_request_fields():
    payload = example("pull_request", "closed")
    event = Event.from_payload("pull_request", payload)
    assert isinstance(event, PullRequestEvent) and event.pull is not None
    assert event.pull.state == "closed"
    assert event.pull.merged == bool(payload["pull_request"]["merged"])
    assert event.pull.merge_commit_sha == payload["pull_request"]["merge_commit_sha"]


def test_issue_comment_review_and_workflow_run_fields():
    comment = Event.from_payload("issue_comment", example("issue_comment", "created"))
    raw = example("issue_comment", "created")
    assert isinstance(comment, IssueCommentEvent)
    assert (comment.comment_id, comment.body, comment.author, comment.number) == (
        raw["comment"]["id"], raw["comment"]["body"], raw["comment"]["user"]["login"], raw["issue"]["number"])

    raw = example("pull_request_review", "submitted")
    review = Event.from_payload("pull_request_review", raw)
    assert isinstance(review, PullRequestReviewEvent)
    assert review.state == raw["review"]["state"].upper()
    assert review.reviewer == raw["review"]["user"]["login"]
    assert review.commit_sha == raw["review"]["commit_id"]

    raw = example("workflow_run", "completed")
    run = Event.from_payload("workflow_run", raw)
    assert isinstance(run, WorkflowRunEvent)
    wr = raw["workflow_run"]
    assert (run.run_id, run.workflow_name, run.head_sha, run.conclusion, run.html_url) == (
        wr["id"], wr["name"], wr["head_sha"], wr["conclusion"], wr["html_url"])
    assert run.display_title == wr.get("display_title", "")


def test_missing_or_odd_fields_do_not_crash():
    event = Event.from_payload("pull_request", {"action": "opened", "pull_request": {"head": None},
                                                "repository": None, "sender": "x"})
    assert isinstance(event, PullRequestEvent) and event.pull is not None
    assert (event.repo, event.sender, event.pull.head_sha) == ("", "", "")
