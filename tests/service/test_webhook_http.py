"""POST /webhook over real HTTP: status codes, nothing queued on refusal, dedupe, health and metrics."""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bot.core.events import sign
from bot.handlers import build_router
from tests.service.conftest import SECRET, encode, headers, wait_for
from tests.service.examples import example, webhook_examples


def test_every_github_example_is_acknowledged_as_json_and_as_form(make_service):
    service = make_service(workers=0)
    examples = webhook_examples()
    assert len(examples) > 300
    statuses = collections.Counter()
    for i, (event, payload) in enumerate(examples):
        for form in (False, True):
            answer = service.post(event, f"ex-{i}-{form}", payload, form=form)
            assert 200 <= answer.status_code < 300, (event, form, answer.status_code, answer.text)
            statuses[answer.status_code] += 1
    queued = sum(1 for event, _ in examples if event in ("pull_request", "ping")) * 2
    assert statuses[202] == sum(1 for event, _ in examples if event == "pull_request") * 2
    assert service.total() == queued  # ignored events are acknowledged, not stored


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "wrong-secret", "sha1"])
def test_bad_or_missing_signature_is_401_and_nothing_is_queued(make_service, signature):
    service = make_service(workers=0)
    refused = collections.Counter()
    for i, (event, payload) in enumerate(webhook_examples()):
        for form in (False, True):
            body = encode(payload, form=form)
            sent = headers(event, f"bad-{i}-{form}", body, form=form, signature=None)
            if signature == "wrong-secret":
                sent["x-hub-signature-256"] = sign(body, "not-" + SECRET)
            elif signature == "sha1":  # a sha1-only delivery, correctly signed with sha1
                sent["x-hub-signature"] = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
            elif signature is not None:
                sent["x-hub-signature-256"] = signature
            refused[service.client.post("/webhook", content=body, headers=sent).status_code] += 1
    assert set(refused) == {401}
    assert service.total() == 0
    rejected = service.telemetry.value("mlbot_deliveries_rejected_total", reason="signature")
    assert rejected == sum(refused.values())


def test_a_rotated_secret_is_still_accepted(make_service):
    service = make_service(workers=0)
    body = encode(example("pull_request", "opened"))
    sent = headers("pull_request", "old-secret-1", body, signature=sign(body, "old-secret"))
    assert service.client.post("/webhook", content=body, headers=sent).status_code == 202


def test_malformed_deliveries_are_400_and_not_queued(make_service):
    service = make_service(workers=0)
    cases = [
        (b'{"action": "opened", ', "application/json"),
        (b"[1, 2]", "application/json"),
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"other=1", "application/x-www-form-urlencoded"),
    ]
    for i, (body, content_type) in enumerate(cases):
        sent = headers("pull_request", f"bad-json-{i}", body)
        sent["content-type"] = content_type
        answer = service.client.post("/webhook", content=body, headers=sent)
        assert answer.status_code == 400, (body, answer.text)
    body = encode(example("pull_request", "opened"))
    for missing in ("x-github-event", "x-github-delivery"):
        sent = headers("pull_request", "no-header", body)
        del sent[missing]
        assert service.client.post("/webhook", content=body, headers=sent).status_code == 400
    assert service.total() == 0


def test_other_content_types_are_415(make_service):
    service = make_service(workers=0)
    body = encode(example("pull_request", "opened"))
    sent = headers("pull_request", "text", body)
    sent["content-type"] = "text/plain"
    answer = service.client.post("/webhook", content=body, headers=sent)
    assert answer.status_code == 415
    assert service.total() == 0


def test_over_25_mib_is_413_with_a_length_and_when_streamed_without_one(make_service):
    service = make_service(workers=0)
    body = b'{"pad": "' + b"x" * (26 * 1024 * 1024) + b'"}'
    declared = service.client.post("/webhook", content=body, headers=headers("push", "big-1", body))
    assert declared.status_code == 413

    def chunks():
        for start in range(0, len(body), 1 << 20):
            yield body[start:start + (1 << 20)]

    streamed = service.client.post("/webhook", content=chunks(), headers=headers("push", "big-2", body))
    assert streamed.status_code == 413
    assert service.total() == 0


def test_a_lying_content_length_cannot_make_the_edge_buffer_more(make_service):
    service = make_service(workers=0)
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(b"POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                    b"content-length: 999999999999\r\n\r\n")
        reply = raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_the_same_delivery_ten_times_is_processed_once(make_service):
    service = make_service(workers=2)
    payload = example("pull_request", "opened")
    answers = [service.post("pull_request", "dup-seq", payload).status_code for _ in range(10)]
    assert answers == [202] + [200] * 9
    with ThreadPoolExecutor(10) as pool:  # and ten at once, on separate connections
        concurrent = list(pool.map(lambda _: httpx.post(
            service.url + "/webhook", content=encode(payload),
            headers=headers("pull_request", "dup-par", encode(payload))).status_code, range(10)))
    assert sorted(concurrent) == [200] * 9 + [202]
    for delivery in ("dup-seq", "dup-par"):
        wait_for(lambda d=delivery: service.queue.state(d)[0] == "done", what=f"{delivery} done")
        assert service.queue.state(delivery) == ("done", 1, "")
    assert len(service.forge.checks) == 2
    assert service.telemetry.value("mlbot_deliveries_duplicate_total") == 18


def test_pull_request_opened_gets_a_neutral_train_check(make_service):
    service = make_service(workers=1)
    payload = example("pull_request", "opened")
    assert service.post("pull_request", "pr-1", payload).status_code == 202
    wait_for(lambda: service.forge.checks, what="the check run")
    [check] = service.forge.checks
    assert (check["repo"], check["head_sha"], check["name"]) == (
        payload["repository"]["full_name"], payload["pull_request"]["head"]["sha"], "mlbot/train")
    assert (check["status"], check["conclusion"]) == ("completed", "neutral")


def test_ping_is_200_and_logged_by_the_worker(make_service, caplog):
    service = make_service(workers=1)
    with caplog.at_level("INFO", logger="mlbot.handlers"):
        answer = service.post("ping", "ping-1", example("ping"))
        assert answer.status_code == 200
        wait_for(lambda: service.queue.state("ping-1")[0] == "done", what="ping handled")
    assert any("ping from hook" in r.getMessage() for r in caplog.records)


def test_health_readiness_and_metrics(make_service):
    failing = {"on": False}

    def tracker() -> None:
        if failing["on"]:
            raise ConnectionError("MLflow at http://mlflow:5000 refused the connection")

    service = make_service(workers=0, tracker_check=tracker)
    assert service.client.get("/healthz").json() == {"status": "ok"}
    assert service.client.get("/readyz").status_code == 200
    failing["on"] = True
    ready = service.client.get("/readyz")
    assert ready.status_code == 503
    assert "tracker is unreachable" in ready.json()["reason"]
    service.post("pull_request", "m-1", example("pull_request", "opened"))
    service.post("pull_request", "m-1", example("pull_request", "opened"))
    service.post("pull_request", "m-2", example("pull_request", "opened"), signature=None)
    text = service.client.get("/metrics").text
    assert "mlbot_deliveries_received_total 3" in text
    assert 'mlbot_deliveries_rejected_total{reason="signature"} 1' in text
    assert "mlbot_deliveries_duplicate_total 1" in text
    assert "mlbot_queue_depth 1" in text
    assert "mlbot_dead_letters 0" in text
    assert 'mlbot_webhook_seconds_bucket{le="+Inf"} 3' in text


def test_readiness_reports_an_unreachable_queue(make_service, tmp_path):
    service = make_service(workers=0)
    service.queue.store.close()
    (tmp_path / "queue.db").unlink()
    (tmp_path / "queue.db").mkdir()  # the store's path can no longer be opened
    answer = service.client.get("/readyz")
    assert answer.status_code == 503
    assert json.loads(answer.text)["reason"].startswith("the queue is unreachable")


def test_internal_job_names_cannot_be_queued_from_outside(make_service):
    service = make_service(workers=0, router=build_router())  # the lifecycle's `mlbot.train` job is routed
    answer = service.post("mlbot.train", "inside-1", {"repo": "acme/churn", "sha": "a" * 40})
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
    assert service.total() == 0
