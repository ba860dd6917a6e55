"""The durable queue on real SQLite: dedupe, retries with backoff, dead letters, leases, the reaper."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from bot.adapters.queue import Delivery, open_queue
from bot.core.errors import ForgeError
from tests.service.conftest import MLBOT, wait_for

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def queue(queue_url):
    q = open_queue(queue_url, lease_seconds=30, max_attempts=3, retry_delay=0.05)
    yield q
    q.close()


def test_accept_dedupes_within_a_batch_and_across_connections(queue, queue_url):
    first = queue.accept([Delivery("a", "ping", b"{}"), Delivery("b", "ping", b"{}"),
                          Delivery("a", "ping", b"{}")])
    assert first == [True, True, False]
    other = open_queue(queue_url)  # another process would see the same
    assert other.accept([Delivery("b", "ping", b"{}"), Delivery("c", "ping", b"{}")]) == [False, True]
    other.close()
    assert queue.counts()["queued"] == 3


def test_enqueue_is_the_job_queue_port_and_dedupes_by_key(queue):
    assert queue.enqueue("report", {"pr": 7}, key="report-7") is True
    assert queue.enqueue("report", {"pr": 7}, key="report-7") is False
    seen = []
    queue.attach(lambda d: seen.append((d.id, d.event, json.loads(d.body))))
    assert queue.run_one("report-7") == "done"
    assert queue.run_one("report-7") is None  # done: a second message is harmless
    assert seen == [("report-7", "report", {"pr": 7})]
    assert queue.accept([Delivery("report-7", "report", b"{}")]) == [False]  # still deduped when done
    assert stored_body(queue, "report-7") in (b"", None)  # only the body of a finished job is dropped


def stored_body(queue, delivery_id):
    store = queue.store
    if hasattr(store, "client"):
        return store.client.hget(store._key(delivery_id), "body")
    return store._db().execute("SELECT body FROM mlbot_deliveries WHERE id=?", (delivery_id,)).fetchone()[0]


def test_unexpected_errors_are_retried_with_backoff_then_dead_lettered(queue):
    queue.accept([Delivery("boom", "pull_request", b"{}")])
    outcomes = []
    queue.attach(lambda d: (_ for _ in ()).throw(RuntimeError(f"attempt {d.attempts} broke")),
                 lambda outcome, d, s: outcomes.append((outcome, d.attempts)))
    scheduled = []
    queue._task.schedule = lambda args, delay: scheduled.append((args, delay))  # observe the backoff
    assert queue.run_one("boom") == "queued"
    assert queue.run_one("boom") == "queued"
    assert queue.run_one("boom") == "dead"
    assert [d for _, d in scheduled] == [0.05, 0.1]
    assert outcomes == [("retry", 1), ("retry", 2), ("dead", 3)]
    [letter] = queue.dead_letters()
    assert (letter.id, letter.event, letter.attempts, letter.error) == (
        "boom", "pull_request", 3, "RuntimeError: attempt 3 broke")
    assert queue.counts()["dead"] == 1


def test_known_errors_fail_once_with_their_message(queue):
    queue.accept([Delivery("known", "pull_request", b"{}")])
    queue.attach(lambda d: (_ for _ in ()).throw(ForgeError("GitHub refused the check run", status=422)))
    assert queue.run_one("known") == "failed"
    assert queue.state("known") == ("failed", 1, "GitHub refused the check run")


def test_a_live_lease_blocks_a_second_claim_and_an_expired_one_is_taken_over(queue_url):
    now = [1000.0]
    q = open_queue(queue_url, lease_seconds=10)
    q._clock = lambda: now[0]
    q.accept([Delivery("x", "ping", b"{}")])
    first = q.store.claim("x", now[0], now[0] + 10)
    assert first is not None and first.attempts == 1
    assert q.store.claim("x", now[0] + 5, now[0] + 15) is None
    now[0] += 11
    assert q.reap() == 1  # expired: re-dispatched
    second = q.store.claim("x", now[0], now[0] + 10)
    assert second is not None and second.attempts == 2
    assert q.store.settle("x", 1, "done", "", now[0], now[0]) is False  # the old holder is fenced off
    assert q.store.settle("x", 2, "done", "", now[0], now[0]) is True
    q.close()


def test_worker_threads_retry_through_hueys_schedule_until_it_works(queue):
    calls = []
    lock = threading.Lock()

    def flaky(d):
        with lock:
            calls.append(d.attempts)
        if d.attempts < 3:
            raise ConnectionError("try again")

    queue.max_attempts = 5
    queue.attach(flaky)
    consumer = queue.consumer(2)
    consumer.start()
    try:
        assert queue.enqueue("ping", {}, key="flaky") is True
        wait_for(lambda: queue.state("flaky")[0] == "done", what="the flaky job to succeed")
    finally:
        consumer.stop(graceful=True)
    assert calls == [1, 2, 3]
    assert queue.state("flaky") == ("done", 3, "")


def test_worker_cli_lists_dead_letters(queue, queue_url):
    queue.accept([Delivery("gone", "workflow_run", b"{}")])
    queue.max_attempts = 1
    queue.attach(lambda d: (_ for _ in ()).throw(ValueError("no such run")))
    assert queue.run_one("gone") == "dead"
    env = {"MLBOT_QUEUE_URL": queue_url, "PATH": "/usr/bin:/bin", "PYTHONPATH": ROOT}  # this checkout's bot
    done = subprocess.run([MLBOT, "worker", "--dead-letters"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "gone\tdead\tworkflow_run\tattempts=1\tValueError: no such run\n"
    assert "1 dead letter(s); put one back with `mlbot worker --requeue ID`" in done.stderr

    again = subprocess.run([MLBOT, "worker", "--requeue", "gone"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout == "requeued gone; a running worker picks it up\n"
    assert queue.state("gone")[0] == "queued"
    unknown = subprocess.run([MLBOT, "worker", "--requeue", "gone"], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert unknown.returncode == 2
    assert "delivery gone is not a failed, dead or retrying delivery I can run again" in unknown.stderr


def test_an_unknown_queue_url_is_a_usage_error():
    from bot.core.errors import UsageError

    with pytest.raises(UsageError, match="not a queue address"):
        open_queue("postgres://db/queue")


def test_a_live_worker_renews_its_lease_so_a_long_job_is_not_run_twice(queue_url):
    now = [1000.0]
    q = open_queue(queue_url, lease_seconds=10)
    q._clock = lambda: now[0]
    q.accept([Delivery("long", "ping", b"{}")])
    running, release = threading.Event(), threading.Event()

    def long_job(d):
        running.set()
        assert release.wait(30)

    q.attach(long_job)
    worker = threading.Thread(target=q.run_one, args=("long",))
    worker.start()
    try:
        assert running.wait(30)
        for _ in range(3):  # 24 s of a 10 s lease, renewed on the way
            now[0] += 8
            assert q.renew_leases() == 1
            assert q.reap() == 0
            assert q.store.claim("long", now[0], now[0] + 10) is None
    finally:
        release.set()
        worker.join(30)
    assert q.state("long") == ("done", 1, "")
    assert q.renew_leases() == 0
    q.close()
