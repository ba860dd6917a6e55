"""The watch schedule in `mlbot serve`: the current window of a cron, one job per window, the runner's watch.

The last tests run the schedule as `mlbot serve` does (durable queues, worker threads, the router)
with two workers sharing one store, and across a restart: one watch per window, whatever the race.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pytest

from bot.adapters.queue import DurableQueue, open_queue
from bot.adapters.runners import ActionsRunner
from bot.core.cron import last_due, parse_cron
from bot.core.errors import ShuttingDown, Transient
from bot.core.events import Event
from bot.core.types import Issue, RefreshJob, TrainingJob, WatchJob, WatchOutcome
from bot.core.watch_report import issue_marker
from bot.handlers import build_router
from bot.ports import Context
from bot.service.worker import attach_worker
from bot.usecases import jobs
from bot.usecases.watch_schedule import WATCH_WORKFLOW, WatchRequested, run_watch, schedule_watch, window_key
from tests.handlers.fakes import CONFIG, FakeForge, context
from tests.watch.test_issue import summary

WATCHED = (CONFIG.replace("runner: local", "runner: actions")
           + 'watch:\n  data: "/data/prod/*.parquet"\n  schedule: "0 6 * * *"\n')
LOCAL = WATCHED.replace("runner: actions", "runner: local")
REPO = "acme/churn"


@dataclass
class IssueForge(FakeForge):
    """The handlers' fake GitHub, with issues (the watch issue is found by its marker)."""

    issues: dict[int, Issue] = field(default_factory=dict)

    def find_issue(self, repo: str, marker: str) -> Issue | None:
        return next((i for i in self.issues.values() if i.state == "open" and i.body.startswith(marker)), None)

    def create_issue(self, repo: str, title: str, body: str) -> Issue:
        number = len(self.issues) + 1
        issue = Issue(number, title, body, "open", "mlbot[bot]", f"https://x/issues/{number}")
        self.issues[issue.number] = issue
        return issue

    def update_issue(self, repo: str, number: int, *, title: str | None = None, body: str | None = None,
                     state: Literal["open", "closed"] | None = None) -> None:
        old = self.issues[number]
        self.issues[number] = replace(old, title=title or old.title, body=body or old.body, state=state or old.state)


@dataclass
class RecordingRunner:
    """A runner that records the watches it is asked for and answers with `outcome` (or raises `error`)."""

    outcome: WatchOutcome | None = None
    error: Exception | None = None
    watched: list[WatchJob] = field(default_factory=list)
    stopping: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stop_all(self) -> int:
        self.stopping = True
        return 0

    def dispatch(self, job: TrainingJob) -> None:
        raise AssertionError("a watch trains nothing")

    def refresh(self, job: RefreshJob) -> None:
        raise AssertionError("a scheduled watch refreshes nothing")

    def watch(self, job: WatchJob) -> WatchOutcome | None:
        with self.lock:
            self.watched.append(job)
        if self.error is not None:
            raise self.error
        return self.outcome


def local_context(runner: RecordingRunner, forge: FakeForge | None = None) -> Context:
    return replace(context(forge or IssueForge(files={**FakeForge().files, "mlbot.yaml": LOCAL})),
                   runners={"local": runner})


def run_queued(ctx: Context) -> None:
    """Run what `schedule_watch` queued on the fake queue, as the worker's router would."""
    for kind, payload, _ in ctx.queue.jobs:  # type: ignore[attr-defined]
        build_router().dispatch(Event.from_payload(kind, payload), ctx)


@pytest.mark.parametrize(("cron", "now", "due"), [
    ("0 6 * * *", datetime(2026, 12, 6, 6, 0, 30), datetime(2026, 12, 6, 6, 0)),
    ("0 6 * * *", datetime(2026, 12, 6, 5, 59), datetime(2026, 12, 5, 6, 0)),
    ("0 6 * * *", datetime(2026, 12, 6, 23, 0), datetime(2026, 12, 6, 6, 0)),
    ("*/15 * * * *", datetime(2026, 12, 6, 13, 44), datetime(2026, 12, 6, 13, 30)),
    ("30 5 * * mon", datetime(2026, 12, 6, 12, 0), datetime(2026, 11, 30, 5, 30)),  # the 6th is a Sunday
    ("0 0 29 2 *", datetime(2026, 12, 6, 12, 0), None),  # nothing within the lookback
])
def test_the_current_window_is_the_latest_scheduled_minute(cron: str, now: datetime, due: datetime | None) -> None:
    assert last_due(parse_cron(cron), now) == due


def test_one_job_per_window_then_the_next_window() -> None:
    ctx = context(FakeForge(files={**FakeForge().files, "mlbot.yaml": WATCHED}))
    first = schedule_watch(ctx, REPO, datetime(2026, 12, 6, 6, 3))
    assert first is not None and (first.model, first.alias, first.window) == ("churn", "production",
                                                                           "2026-12-06T06:00Z")
    assert schedule_watch(ctx, REPO, datetime(2026, 12, 6, 9, 0)) is None  # same window, later round
    later = schedule_watch(ctx, REPO, datetime(2026, 12, 7, 6, 0))
    assert later is not None and later.window == "2026-12-07T06:00Z"


def test_no_watch_section_schedules_nothing() -> None:
    assert schedule_watch(context(), REPO, datetime(2026, 12, 6, 6, 0)) is None


def test_a_restarted_server_or_a_second_worker_finds_the_window_taken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    forge = FakeForge(files={**FakeForge().files, "mlbot.yaml": WATCHED})
    first, second = open_queue(url), open_queue(url)  # two processes, or one before and after a restart
    now = datetime(2026, 12, 6, 6, 1)
    assert schedule_watch(replace(context(forge), queue=first), REPO, now) is not None
    assert schedule_watch(replace(context(forge), queue=second), REPO, now) is None


def test_the_actions_runner_dispatches_the_watch_workflow_on_the_default_branch() -> None:
    forge = FakeForge(files={**FakeForge().files, "mlbot.yaml": WATCHED})
    ctx = replace(context(forge), runners={"actions": ActionsRunner(forge)})  # type: ignore[arg-type]
    schedule_watch(ctx, REPO, datetime(2026, 12, 6, 6, 1))
    run_queued(ctx)
    assert ("dispatch_workflow", WATCH_WORKFLOW, "main", {}) in forge.calls


def test_the_local_runner_watches_the_default_branch_and_opens_the_issue() -> None:
    drifted = summary(False, (True,))
    runner = RecordingRunner(WatchOutcome(True, drifted.to_json(), "log", "churn@production v3 needs attention."))
    ctx = replace(local_context(runner), mlflow_url="https://mlflow.example/")
    schedule_watch(ctx, REPO, datetime(2026, 12, 6, 6, 1))
    run_queued(ctx)
    # the default branch's head, whose mlbot.yaml was read, and the repository's own clone URL
    assert runner.watched == [WatchJob(REPO, "main", "b" * 40, "2026-12-06T06:00Z", "https://github.com/acme/churn.git")]
    forge = ctx.forge
    assert isinstance(forge, IssueForge) and not [c for c in forge.calls if c[0] == "dispatch_workflow"]
    [issue] = forge.issues.values()
    assert issue.state == "open" and issue.body.startswith(issue_marker("churn", "production"))
    assert "x00" in issue.body and f"https://mlflow.example/#/experiments/-/runs/{drifted.run_id}" in issue.body


def test_a_healthy_window_opens_nothing_and_a_healthy_streak_closes_the_issue() -> None:
    runner = RecordingRunner()
    ctx = local_context(runner)
    forge = ctx.forge
    assert isinstance(forge, IssueForge)
    for day, (window, healthy) in enumerate([((), True), ((True,), False), ((True, False, True), True)]):
        runner.outcome = WatchOutcome(True, summary(healthy, window).to_json(), "", "")
        run_watch(ctx, WatchRequested(REPO, "churn", "production", f"2026-12-0{day + 1}T06:00Z"))
        if day == 0:
            assert forge.issues == {}
    [issue] = forge.issues.values()
    assert issue.state == "closed"  # close_after: 2 healthy windows in a row


def test_a_failed_watch_is_logged_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    runner = RecordingRunner(WatchOutcome(False, None, "error: watch.data matches no file",
                                          "mlbot watch exited with code 2 (watch.data matches no file)."))
    ctx = local_context(runner)
    with caplog.at_level(logging.WARNING, logger="mlbot.watch"):
        run_watch(ctx, WatchRequested(REPO, "churn", "production", "2026-12-06T06:00Z"))
    assert "exited with code 2" in caplog.text and len(runner.watched) == 1
    assert isinstance(ctx.forge, IssueForge) and ctx.forge.issues == {}


def test_nothing_to_watch_yet_is_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    runner = RecordingRunner(WatchOutcome(True, None, "", "There is nothing to watch in acme/churn yet."))
    with caplog.at_level(logging.INFO, logger="mlbot.watch"):
        run_watch(local_context(runner), WatchRequested(REPO, "churn", "production", "2026-12-06T06:00Z"))
    assert "nothing to watch" in caplog.text and not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_mlflow_down_and_a_shutdown_run_the_window_again() -> None:
    job = WatchRequested(REPO, "churn", "production", "2026-12-06T06:00Z")
    down = RecordingRunner(error=Transient("MLflow is unreachable", dependency="MLflow"))
    with pytest.raises(Transient):  # the queue retries it with backoff
        run_watch(local_context(down), job)
    stopped = RecordingRunner(WatchOutcome(False, None, "", "The watch was stopped."), stopping=True)
    with pytest.raises(ShuttingDown):  # not an MlbotError: the queue runs it again after the restart
        run_watch(local_context(stopped), job)


def test_a_runner_the_bot_does_not_have_watches_nothing(caplog: pytest.LogCaptureFixture) -> None:
    ctx = context(FakeForge(files={**FakeForge().files, "mlbot.yaml": LOCAL}))  # no runners at all
    with caplog.at_level(logging.WARNING, logger="mlbot.watch"):
        run_watch(ctx, WatchRequested(REPO, "churn", "production", "2026-12-06T06:00Z"))
    assert "has not configured" in caplog.text


# --- Acceptance 6: once per window with two workers, and across a restart ----------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the workers keep the queue: one SQLite file, or one Redis (when MLBOT_TEST_REDIS_URL is set)."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'queue.db'}"


class Worker:
    """One `mlbot serve` worker: its own queue object on the shared store, consumer threads, router, runner."""

    def __init__(self, url: str, forge: FakeForge) -> None:
        self.runner = RecordingRunner(WatchOutcome(True, None, "", "There is nothing to watch yet."))
        self.queue: DurableQueue = open_queue(url, lease_seconds=30, retry_delay=0.05)
        self.ctx = replace(context(forge), queue=self.queue, runners={"local": self.runner})
        attach_worker(self.queue, build_router(), lambda _queue: self.ctx)
        self.consumer = self.queue.consumer(2)
        self.consumer.start()
        self.running = True

    def round(self, now: datetime) -> WatchRequested | None:
        """What the reconciler does for the watch in each round."""
        return schedule_watch(self.ctx, REPO, now)

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.consumer.stop(graceful=True)
            self.queue.close()


@pytest.fixture
def workers(store_url: str) -> Iterator[list[Worker]]:
    forge = FakeForge(files={**FakeForge().files, "mlbot.yaml": LOCAL})
    started = [Worker(store_url, forge), Worker(store_url, forge)]
    yield started
    for worker in started:
        worker.stop()


def finished(queue: DurableQueue, job: WatchRequested) -> bool:
    state = queue.state(jobs.KEY_PREFIX + window_key(job))
    assert state is None or state[0] not in ("failed", "dead"), state
    return state is not None and state[0] == "done"


def wait_until(condition: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def watches(*among: Worker) -> list[str]:
    return [job.window for worker in among for job in worker.runner.watched]


def test_two_workers_racing_for_a_window_watch_it_once_and_a_restart_does_not_repeat_it(
        workers: list[Worker], store_url: str) -> None:
    first, second = workers
    six = datetime(2026, 12, 6, 6, 0, 40)
    barrier = threading.Barrier(2)
    queued: list[WatchRequested | None] = [None, None]

    def race(index: int, worker: Worker) -> None:
        barrier.wait()
        queued[index] = worker.round(six)

    threads = [threading.Thread(target=race, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [job] = [j for j in queued if j is not None]  # one round won the window's key
    wait_until(lambda: finished(first.queue, job), "the window's watch")
    for later in (datetime(2026, 12, 6, 6, 30), datetime(2026, 12, 6, 23, 59)):  # later rounds, both workers
        assert first.round(later) is None and second.round(later) is None
    time.sleep(0.3)  # room for a duplicate to run, were there one
    assert watches(first, second) == ["2026-12-06T06:00Z"]

    first.stop()  # `mlbot serve` restarted: a new process, a new queue object on the same store
    restarted = Worker(store_url, first.ctx.forge)  # type: ignore[arg-type]
    try:
        assert restarted.round(datetime(2026, 12, 6, 7, 0)) is None  # the same window: taken before the restart
        tomorrow = restarted.round(datetime(2026, 12, 7, 6, 2))
        assert tomorrow is not None and second.round(datetime(2026, 12, 7, 6, 3)) is None
        wait_until(lambda: finished(restarted.queue, tomorrow), "the next window's watch")
        time.sleep(0.3)
    finally:
        restarted.stop()
    assert sorted(watches(first, second, restarted)) == ["2026-12-06T06:00Z", "2026-12-07T06:00Z"]
