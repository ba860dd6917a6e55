"""The watch schedule in `mlbot serve`: the current window of a cron, one job per window, the dispatch."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from bot.adapters.queue import open_queue
from bot.core.cron import last_due, parse_cron
from bot.handlers import build_router
from bot.usecases.watch_schedule import WATCH_WORKFLOW, schedule_watch
from tests.handlers.fakes import CONFIG, FakeForge, context

WATCHED = (CONFIG.replace("runner: local", "runner: actions")
           + 'watch:\n  data: "/data/prod/*.parquet"\n  schedule: "0 6 * * *"\n')


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
    first = schedule_watch(ctx, "acme/churn", datetime(2026, 12, 6, 6, 3))
    assert first is not None and (first.model, first.alias, first.window) == ("churn", "production",
                                                                           "2026-12-06T06:00Z")
    assert schedule_watch(ctx, "acme/churn", datetime(2026, 12, 6, 9, 0)) is None  # same window, later round
    later = schedule_watch(ctx, "acme/churn", datetime(2026, 12, 7, 6, 0))
    assert later is not None and later.window == "2026-12-07T06:00Z"


def test_no_watch_section_schedules_nothing() -> None:
    assert schedule_watch(context(), "acme/churn", datetime(2026, 12, 6, 6, 0)) is None


def test_a_restarted_server_or_a_second_worker_finds_the_window_taken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    forge = FakeForge(files={**FakeForge().files, "mlbot.yaml": WATCHED})
    first, second = open_queue(url), open_queue(url)  # two processes, or one before and after a restart
    now = datetime(2026, 12, 6, 6, 1)
    assert schedule_watch(replace(context(forge), queue=first), "acme/churn", now) is not None
    assert schedule_watch(replace(context(forge), queue=second), "acme/churn", now) is None


def test_the_job_dispatches_the_watch_workflow_on_the_default_branch() -> None:
    forge = FakeForge(files={**FakeForge().files, "mlbot.yaml": WATCHED})
    ctx = context(forge)
    schedule_watch(ctx, "acme/churn", datetime(2026, 12, 6, 6, 1))
    [(kind, payload, _)] = ctx.queue.jobs  # type: ignore[attr-defined]
    from bot.core.events import Event

    build_router().dispatch(Event.from_payload(kind, payload), ctx)
    assert ("dispatch_workflow", WATCH_WORKFLOW, "main", {}) in forge.calls


def test_the_local_runner_does_not_dispatch_a_workflow() -> None:
    local = WATCHED.replace("runner: actions", "runner: local")
    assert local != WATCHED
    forge = FakeForge(files={**FakeForge().files, "mlbot.yaml": local})
    ctx = context(forge)
    schedule_watch(ctx, "acme/churn", datetime(2026, 12, 6, 6, 1))
    [(kind, payload, _)] = ctx.queue.jobs  # type: ignore[attr-defined]
    from bot.core.events import Event

    build_router().dispatch(Event.from_payload(kind, payload), ctx)
    assert not [c for c in forge.calls if c[0] == "dispatch_workflow"]
