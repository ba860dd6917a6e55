"""A `/snooze` in force is noted on the judged window, and the monitoring run stores the summary the CLI printed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.adapters.mlflow.tracker import MlflowTracker
from bot.core.types import Snooze
from bot.core.watch_report import WatchSummary
from bot.training.watch import with_snooze
from tests.watch.conftest import rows

MODEL, ALIAS = "breast-cancer", "production"
WINDOW = WatchSummary(MODEL, ALIAS, "1", "r1", "day.csv", 10, False, 0.5, 2, ("a",), (), (), (), ())


def test_only_a_snooze_still_in_force_is_noted() -> None:
    assert with_snooze(WINDOW, Snooze(2000.0, "maya"), now=1000.0).snoozed_until == 2000.0
    assert with_snooze(WINDOW, Snooze(2000.0, "maya"), now=1000.0).snoozed_by == "maya"
    assert with_snooze(WINDOW, Snooze(1000.0, "maya"), now=1000.0) == WINDOW  # it ended just now
    assert with_snooze(WINDOW, None, now=1000.0) == WINDOW


def test_a_snoozed_watch_says_so_and_its_run_holds_what_was_printed(cli, project: Path, production: Path,  # type: ignore[no-untyped-def]
                                                                    tracking_uri: str) -> None:
    tracker = MlflowTracker(tracking_uri)
    until = time.time() + 3600
    tracker.snooze_watch(MODEL, ALIAS, Snooze(until, "maya"))
    rows(project).sample(300, random_state=1).to_csv(production / "day1.csv", index=False)
    body = json.loads(cli("watch", "--project", str(project), "--format", "json").out)
    assert body["snoozed_until"] == until and body["snoozed_by"] == "maya"

    latest = tracker.latest_watch(MODEL, MODEL, ALIAS)  # the example's experiment is named after its model
    assert latest is not None
    stored, ran_at = latest
    assert stored == WatchSummary.from_json(body)  # the whole summary, trend ending in this window
    assert stored.trend[-1].run_id == body["run_id"] and abs(ran_at - time.time()) < 120

    tracker.snooze_watch(MODEL, ALIAS, Snooze(time.time() - 1, "maya"))  # the snooze has ended
    again = json.loads(cli("watch", "--project", str(project), "--format", "json").out)
    assert again["snoozed_until"] is None and again["snoozed_by"] == ""
    assert [p["run_id"] for p in again["trend"]] == [body["run_id"], again["run_id"]]
