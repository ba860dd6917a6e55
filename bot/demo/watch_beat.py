"""The demo's production-watch beat: a healthy day, a drifted day, the watch issue, `/retrain` and its pull request.

The schedule (`watch.schedule`, daily at 06:00 UTC) is not waited for: the demo asks the same use case
the reconciler runs each round which window is due at a given minute, for two days in a row, and the
bot's workers run those windows with the local runner, as `mlbot serve` does.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.core.cron import last_due, parse_cron
from bot.core.watch_report import issue_marker
from bot.sandbox import gitops

if TYPE_CHECKING:
    from bot.demo.story import Demo

SCHEDULE = "0 6 * * *"
DRIFTED = ["worst radius", "worst concave points", "mean texture"]  # shifted by one standard deviation
CONCEPT_DRIFT = 0.2  # and the outcome of a fifth of the rows no longer follows the features
REFRESH_SCRIPT = '''"""Refresh the training data: append the newest labelled production window to data/train.csv.

The demo's stand-in for a team's extract job (`watch.refresh` in mlbot.yaml); mlbot proposes what it changes.
"""
import csv
import glob
import os
import sys

newest = max(glob.glob(os.path.join(sys.argv[1], "*.csv")), key=os.path.getmtime)
with open("data/train.csv", newline="") as handle:
    reader = csv.DictReader(handle)
    fields, rows = list(reader.fieldnames or []), list(reader)
with open(newest, newline="") as handle:
    fresh = [row for row in csv.DictReader(handle) if row.get("label") not in (None, "")]
next_id = max(int(row["id"]) for row in rows) + 1
for offset, row in enumerate(fresh):
    row["id"] = str(next_id + offset)
with open("data/train.csv", "w", newline="") as handle:
    writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows + fresh)
print(f"appended {len(fresh)} labelled rows of {os.path.basename(newest)} to data/train.csv")
'''


def write_window(demo: Demo, folder: Path, name: str, *, drifted: bool, seed: int) -> Path:
    """A day of production data: rows like the training data, or with three features and the outcome moved."""
    import numpy as np
    import pandas as pd

    data = demo.project / "data"
    frame = pd.concat([pd.read_csv(data / "train.csv"), pd.read_csv(data / "eval.csv")])
    window = frame.sample(400, replace=True, random_state=seed).reset_index(drop=True)
    if drifted:
        for column in DRIFTED:
            window[column] = window[column] + frame[column].std()
        flip = np.random.default_rng(seed).random(len(window)) < CONCEPT_DRIFT
        window.loc[flip, "label"] = 1 - window.loc[flip, "label"]
    path = folder / name
    window.to_csv(path, index=False)
    stamp = time.time() + seed  # the newest file is the window
    os.utime(path, (stamp, stamp))
    return path


def run_window(demo: Demo, due: datetime) -> None:
    """Queue the window due at `due` through the schedule's own use case; let the bot's workers run it."""
    from bot.service import composition
    from bot.usecases.watch_schedule import schedule_watch

    settings, queue = demo.stack.settings, demo.stack.queue
    assert settings is not None and queue is not None
    forge = composition.build_forge(settings)
    try:
        ctx = composition.build_context(settings, queue, forge=forge, runners={})
        demo.expect(schedule_watch(ctx, demo.repo, due + timedelta(minutes=5)) is not None,
                    f"the window of {due:%Y-%m-%d %H:%M} was queued once")
    finally:
        getattr(forge, "close", lambda: None)()
    demo.settle()


def watch_issue(demo: Demo) -> Any:  # the sandbox's own Issue, or None
    marker = issue_marker(demo.model, "production")
    found = [i for i in demo.github.store.issues.values()
             if i.state == "open" and (i.body or "").startswith(marker) and i.author == demo.stack.bot_login]
    return found[0] if found else None


def production_drifts(demo: Demo, maintainer: str) -> int:
    """Play the beat; return the number of the refreshed data's pull request."""
    demo.beat("5. Production drifts")
    folder = demo.options.workdir / "production"
    folder.mkdir(parents=True, exist_ok=True)
    main = gitops.read_blob(demo.github.store.repo(demo.repo).path, "refs/heads/main", "mlbot.yaml")
    demo.expect(main is not None, "main has an mlbot.yaml")
    config = yaml.safe_load(main or b"")
    config["watch"] = {"data": f"{folder}/*.csv", "label": "label", "schedule": SCHEDULE, "close_after": 2,
                       "refresh": f"{sys.executable} src/refresh_data.py {folder}"}
    demo.github.push_commit(demo.repo, "main", {"mlbot.yaml": yaml.safe_dump(config, sort_keys=False),
                                                "src/refresh_data.py": REFRESH_SCRIPT},
                            "Watch production daily", author=maintainer)
    demo.say(f"maya adds `watch:` to mlbot.yaml on main: each day at 06:00 UTC, the bot scores the newest "
             f"production file in {folder} with production (v{demo.production()}), compares it with what the "
             "model was trained and evaluated on, and logs a monitoring run. `watch.refresh` names the team's "
             "data-refresh script.")
    day1 = last_due(parse_cron(SCHEDULE), datetime.now(UTC))
    assert day1 is not None
    write_window(demo, folder, "day-1.csv", drifted=False, seed=1)
    run_window(demo, day1)
    demo.expect(watch_issue(demo) is None, "a window like the training data opened no issue")
    demo.say(f"{day1:%b %d} 06:00: 400 rows that look like the training data. Every test passes, the monitoring "
             "run is logged, and no issue is opened.")
    write_window(demo, folder, "day-2.csv", drifted=True, seed=2)
    run_window(demo, day1 + timedelta(days=1))
    issue = watch_issue(demo)
    demo.expect(issue is not None, "the drifted window opened the watch issue")
    assert issue is not None
    number = int(issue.number)
    body = str(issue.body)
    demo.expect(all(column in body for column in DRIFTED), "the watch issue names the drifted features")
    demo.say(f"{day1 + timedelta(days=1):%b %d} 06:00: three features moved and the outcome of a fifth of the rows "
             f"no longer follows them. The bot opens issue #{number} (one per model, updated on every run, "
             "closed after two healthy days):")
    demo.quote_bot(body)
    demo.say(f"maya comments in issue #{number}:  /retrain")
    said = demo.act(number, lambda: demo.github.comment(demo.repo, number, "/retrain", maintainer))
    demo.expect(any("opened #" in text for text in said), "/retrain in the watch issue opened a pull request")
    refreshed = [p for p in demo.github.store.pulls.values() if p.head_ref.startswith("mlbot/refresh-")]
    demo.expect(len(refreshed) == 1, "one pull request carries the refreshed data")
    pull = refreshed[0]
    demo.pulls[pull.number] = pull.title
    demo.say(f"The bot ran the refresh script on main, pushed what it changed and opened PR #{pull.number}. "
             "That pull request is trained and judged like any other, against production:")
    demo.quote_bot(demo.report(pull.number), full=False)
    checks = demo.show_checks(pull.head_sha)
    demo.expect(checks["mlbot/train"] == "success", f"the refreshed data's PR #{pull.number} trained")
    if checks["mlbot/gates"] == "failure":
        demo.say("The refreshed model is worse than production on the fixed eval rows: the new rows disagree "
                 "with the old labels. So its gates fail and production stays v1 — a refresh is a proposal, "
                 "judged like any other change, not a promotion. The watch issue stays open until the data "
                 "is healthy again.")
    else:
        demo.say("Once reviewed and merged, it is promoted like any other pull request whose gates pass.")
    return int(pull.number)
