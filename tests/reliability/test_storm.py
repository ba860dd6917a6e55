"""A GitHub 502 storm through the real forge and the durable queue: the job waits it out, or gives up once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.github.client import GitHubForge
from bot.adapters.queue import Delivery, DurableQueue, open_queue
from bot.core.errors import Transient
from bot.sandbox import SandboxServer
from bot.sandbox.faults import Fault
from tests.github.conftest import FAST, REPO, inject

BODY = "🚀 promoted **churn** v2 to production (was v1)."


class Announcer:
    """The job: post the promotion comment; it tells the queue's hooks what it hears."""

    def __init__(self, forge: GitHubForge) -> None:
        self.forge = forge
        self.retries: list[tuple[str, str, float]] = []
        self.gave_up: list[tuple[str, str]] = []

    def __call__(self, delivery: Delivery) -> None:
        job = json.loads(delivery.body)
        self.forge.create_comment(job["repo"], job["pr"], BODY)

    def on_retry(self, delivery: Delivery, error: Transient, at: float) -> None:
        self.retries.append((delivery.id, error.dependency, at))

    def on_give_up(self, delivery: Delivery, error: BaseException) -> None:
        self.gave_up.append((delivery.id, str(error)))


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[tuple[DurableQueue, list[float]]]:
    now = [1000.0]
    q = open_queue(f"sqlite:///{tmp_path / 'queue.db'}", retry_delay=5, retry_for=300, retry_max_delay=60)
    q._clock = lambda: now[0]  # type: ignore[method-assign]
    q._task.schedule = lambda args, delay: None  # the test plays the scheduler: it runs the job when due
    yield q, now
    q.close()


def run_until_settled(queue: DurableQueue, now: list[float], delivery_id: str) -> str | None:
    """Run the job, and again each time it is due, until it is no longer waiting to retry."""
    while (state := queue.run_one(delivery_id)) == "retrying":
        status = queue.status(delivery_id)
        assert status is not None
        now[0] = status.next_at
    return state


def storm_over(sandbox: SandboxServer, make_forge, queue, key: str, **fault: object) -> tuple[Announcer, Fault]:
    """Queue the announcement during a storm of `fault`s on every call to the repository."""
    q, _ = queue
    job = Announcer(make_forge(FAST))
    q.attach(job)
    storm = inject(sandbox, method="*", path_regex=r"^/repos/acme/churn", **fault)
    q.enqueue("promote", {"repo": REPO, "pr": 1}, key=key)
    return job, storm


def test_a_merge_during_a_502_storm_is_announced_once_the_storm_ends(
    sandbox: SandboxServer, make_forge, queue
) -> None:
    q, now = queue
    job, storm = storm_over(sandbox, make_forge, queue, "promote:acme/churn:1", status=502, times=10)
    assert run_until_settled(q, now, "promote:acme/churn:1") == "done"
    assert storm.hits == 10
    assert job.retries and {d for _, d, _ in job.retries} == {"GitHub"}
    assert [at for _, _, at in job.retries] == sorted(at for _, _, at in job.retries)
    assert [c.body for c in sandbox.github.comments(REPO, 1)] == [BODY]
    assert job.gave_up == []


def test_a_storm_longer_than_the_bound_gives_up_once_and_can_be_requeued(
    sandbox: SandboxServer, make_forge, queue
) -> None:
    q, now = queue
    job, storm = storm_over(sandbox, make_forge, queue, "p", status=503, times=100_000)
    assert run_until_settled(q, now, "p") == "dead"
    assert now[0] == 1300.0  # retry_for
    assert len(job.gave_up) == 1 and job.gave_up[0][0] == "p"
    assert "GitHub answered 503" in job.gave_up[0][1]
    assert [d.id for d in q.dead_letters()] == ["p"]

    storm.times = storm.hits  # the storm ends; an operator re-queues the job
    assert q.requeue("p")
    assert run_until_settled(q, now, "p") == "done"
    assert [c.body for c in sandbox.github.comments(REPO, 1)] == [BODY]
    assert len(job.gave_up) == 1


def test_lost_answers_during_the_storm_still_leave_one_comment(sandbox: SandboxServer, make_forge, queue) -> None:
    q, now = queue
    job = Announcer(make_forge(FAST))
    q.attach(job)
    inject(sandbox, method="POST", path_regex=r"/issues/1/comments$", status=502, after=True, times=1)
    inject(sandbox, method="GET", path_regex=r"/issues/1/comments$", status=502, times=8)  # the lookup fails too
    q.enqueue("promote", {"repo": REPO, "pr": 1}, key="lost")
    assert run_until_settled(q, now, "lost") == "done"
    assert [c.body for c in sandbox.github.comments(REPO, 1)] == [BODY]
