"""Transient failures wait in `retrying` (bounded in time), permanent ones fail once; both can be re-queued."""

from __future__ import annotations

import pytest

from bot.adapters.queue import Delivery, open_queue
from bot.core.errors import MlbotError, Transient


class Recorder:
    """A processor with retry hooks: fails with the errors it is given, in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.runs: list[int] = []
        self.retries: list[tuple[str, str, float]] = []
        self.gave_up: list[tuple[str, str]] = []

    def __call__(self, delivery: Delivery) -> None:
        self.runs.append(delivery.attempts)
        if self.errors:
            raise self.errors.pop(0)

    def on_retry(self, delivery: Delivery, error: Transient, at: float) -> None:
        self.retries.append((delivery.id, error.dependency, at))

    def on_give_up(self, delivery: Delivery, error: BaseException) -> None:
        self.gave_up.append((delivery.id, str(error)))


def github_down(retry_after: float | None = None) -> Transient:
    return Transient("GitHub answered 502 to GET /x 5 times; giving up for now", dependency="GitHub",
                     retry_after=retry_after, status=502)


@pytest.fixture
def clocked(queue_url):
    """A queue on a settable clock, with huey's schedule recorded instead of run."""
    now = [1000.0]
    q = open_queue(queue_url, lease_seconds=30, max_attempts=2, retry_delay=10, retry_for=600,
                   retry_max_delay=120)
    q._clock = lambda: now[0]
    q.scheduled = []
    q._task.schedule = lambda args, delay: q.scheduled.append(delay)
    yield q, now
    q.close()


def test_a_transient_failure_waits_in_retrying_then_runs_again(clocked):
    queue, now = clocked
    worker = Recorder(github_down(), github_down(retry_after=90))
    queue.attach(worker)
    queue.accept([Delivery("merge", "pull_request", b"{}")])

    assert queue.run_one("merge") == "retrying"
    status = queue.status("merge")
    assert (status.state, status.retries, status.retry_since) == ("retrying", 1, 1000.0)
    assert 1005.0 <= status.next_at <= 1010.0  # 10 s doubled 0 times, jittered down to half at most
    assert status.error.startswith("GitHub answered 502")
    assert worker.retries == [("merge", "GitHub", status.next_at)]
    assert queue.retrying()[0].id == "merge" and queue.counts()["retrying"] == 1

    now[0] = status.next_at
    assert queue.run_one("merge") == "retrying"
    assert queue.status("merge").next_at == now[0] + 90  # GitHub asked for 90 s: never sooner
    assert queue.requeue("merge") is True  # an operator who knows GitHub is back runs it now
    assert queue.status("merge").state == "queued"
    assert queue.run_one("merge") == "done"
    assert worker.runs == [1, 2, 3] and worker.gave_up == []
    assert queue.totals() == {"retried": 2, "failed": 0, "dead": 0, "requeued": 1}


def test_transient_retries_do_not_use_up_the_attempts_for_unexpected_errors(clocked):
    queue, now = clocked
    worker = Recorder(github_down(), github_down(), github_down(), RuntimeError("bug"))
    queue.attach(worker)
    queue.accept([Delivery("d", "push", b"{}")])
    for _ in range(3):
        assert queue.run_one("d") == "retrying"
        now[0] = queue.status("d").next_at
    assert queue.run_one("d") == "queued"  # the first unexpected error of max_attempts=2
    assert queue.status("d").next_at == now[0] + 10 + 30  # the reaper looks a lease after the scheduled retry
    now[0] += 100
    assert queue.run_one("d") == "done"


def test_retries_stop_at_the_time_bound_and_give_up_once(clocked):
    queue, now = clocked
    worker = Recorder(*[github_down()] * 50)
    queue.attach(worker)
    queue.accept([Delivery("storm", "pull_request", b"{}")])
    states = []
    while (state := queue.run_one("storm")) == "retrying":
        states.append(state)
        now[0] = queue.status("storm").next_at
    assert state == "dead"
    assert now[0] == 1600.0  # the last try lands on the 600 s bound, not past it
    assert 4 <= len(states) <= 12  # doubling from 10 s, capped at 120 s
    [letter] = queue.dead_letters()
    assert (letter.id, letter.state) == ("storm", "dead")
    assert letter.error.startswith("gave up after 10 min of retries")
    assert "GitHub is still unavailable" in letter.error
    assert worker.gave_up == [("storm", "GitHub answered 502 to GET /x 5 times; giving up for now")]
    assert queue.run_one("storm") is None  # dead: a stray message changes nothing
    assert len(worker.gave_up) == 1
    assert queue.totals()["dead"] == 1


def test_a_redelivery_while_retrying_is_a_duplicate_and_keeps_the_retry_state(clocked):
    queue, _ = clocked
    queue.attach(Recorder(github_down()))
    queue.accept([Delivery("dup", "pull_request", b'{"a": 1}')])
    assert queue.run_one("dup") == "retrying"
    before = queue.status("dup")
    assert queue.accept([Delivery("dup", "pull_request", b'{"a": 1}')]) == [False]
    assert queue.status("dup") == before


def test_a_permanent_error_fails_once_keeps_its_body_and_can_be_requeued(clocked):
    queue, _ = clocked
    worker = Recorder(MlbotError("mlbot.yaml on main is invalid"))
    queue.attach(worker)
    queue.accept([Delivery("cfg", "pull_request", b'{"n": 1}')])
    assert queue.run_one("cfg") == "failed"
    assert worker.gave_up == [("cfg", "mlbot.yaml on main is invalid")]
    assert [(d.id, d.state) for d in queue.dead_letters()] == [("cfg", "failed")]

    assert queue.requeue("cfg") is True
    assert queue.requeue("cfg") is False  # queued now, not given up
    assert queue.run_one("cfg") == "done"
    assert worker.runs == [1, 2]
    assert queue.requeue("never-seen") is False


def test_a_hook_that_fails_does_not_change_the_outcome(clocked):
    queue, _ = clocked

    class Broken(Recorder):
        def on_retry(self, delivery: Delivery, error: Transient, at: float) -> None:
            raise ConnectionError("GitHub is down, so is the check update")

    queue.attach(Broken(github_down()))
    queue.accept([Delivery("x", "push", b"{}")])
    assert queue.run_one("x") == "retrying"


def test_a_queue_file_from_before_retries_is_upgraded_in_place(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the schema before `retrying` existed, with a delivery waiting
        db.execute("CREATE TABLE mlbot_deliveries (id TEXT PRIMARY KEY, event TEXT NOT NULL, body BLOB NOT NULL,"
                   " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, lease REAL NOT NULL DEFAULT 0,"
                   " due REAL NOT NULL, error TEXT NOT NULL DEFAULT '', received REAL NOT NULL, updated REAL NOT NULL)")
        db.execute("INSERT INTO mlbot_deliveries (id, event, body, state, due, received, updated)"
                   " VALUES ('old', 'push', X'7B7D', 'queued', 0, 0, 0)")
    queue = open_queue(f"sqlite:///{path}")
    queue.attach(Recorder(github_down()))
    queue._task.schedule = lambda args, delay: None
    assert queue.run_one("old") == "retrying"
    assert queue.status("old").retries == 1
    queue.close()
