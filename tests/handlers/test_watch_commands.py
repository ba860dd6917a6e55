"""Commands in the watch issue: `/retrain` (refreshed data → a pull request), `/snooze`, `/status`, `/help`."""

from __future__ import annotations

from dataclasses import replace

from bot.core.events import IssueCommentEvent, UnknownEvent
from bot.core.types import Issue, RefreshOutcome, Snooze, TrainingOutcome
from bot.core.watch_report import GateLine, WatchSummary, issue_marker
from bot.handlers import chatops
from tests.handlers.fakes import BOT, CONFIG, REPO, FakeForge, FakeRunner, FakeTracker, context, pull

WATCHED = CONFIG + 'watch: {data: "/prod/*.csv", schedule: "0 6 * * *", refresh: "python refresh.py"}\n'
NOW = 1_796_536_800.0  # 2026-12-06 06:00 UTC
FAILING = GateLine("no feature drifted", "fail", "block", True, "drift share 10.0% is above 0.0%")


def forge(**changes: object) -> FakeForge:
    issue = Issue(12, "mlbot watch: churn@production needs attention",
                  issue_marker("churn", "production") + "\n## churn@production", "open", BOT)
    made = FakeForge(files={"mlbot.yaml": WATCHED, "policies/gates.yaml": "gates: []\n"}, issues={12: issue})
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def say(ctx, body: str, author: str = "maya", number: int = 12, comment_id: int = 77) -> None:  # type: ignore[no-untyped-def]
    event = IssueCommentEvent("issue_comment", "created", REPO, 1, author, "d-1", number=number,
                              is_pull_request=False, comment_id=comment_id, body=body, author=author,
                              html_url=f"https://x/issues/{number}#issuecomment-{comment_id}")
    chatops.on_comment(event, ctx)
    for kind, payload, _ in list(ctx.queue.jobs):
        if kind == "mlbot.command" and payload["comment_id"] == comment_id:
            chatops.run_comment(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)


def run_jobs(ctx, kind: str) -> None:  # type: ignore[no-untyped-def]
    for queued, payload, _ in list(ctx.queue.jobs):
        if queued == kind:
            chatops.router.dispatch(UnknownEvent(queued, "", "", None, "", payload=payload), ctx)


def reply(ctx) -> str:  # type: ignore[no-untyped-def]
    return str(ctx.forge.bodies()[-1])


def test_snooze_is_recorded_for_the_issues_model_and_off_ends_it() -> None:
    ctx = context(forge())
    say(ctx, "/snooze 3d")
    snooze = ctx.tracker.snoozes[("churn", "production")]
    assert snooze.by == "maya" and 3 * 86_400 - 60 < snooze.until - __import__("time").time() <= 3 * 86_400
    assert "`/snooze`: snoozed until" in reply(ctx) and "opens no new watch issue" in reply(ctx)
    say(ctx, "/snooze off", comment_id=78)
    assert ctx.tracker.snoozes == {} and "the snooze is off" in reply(ctx)


def test_only_writers_may_snooze_or_retrain_but_anyone_may_ask_for_status() -> None:
    ctx = context(forge(roles={"maya": "maintain", "rita": "read"}))
    say(ctx, "/snooze 1w", author="rita")
    assert "I did not run `/snooze`" in reply(ctx) and ctx.tracker.snoozes == {}
    say(ctx, "/retrain", author="rita", comment_id=79)
    assert "I did not run `/retrain`" in reply(ctx) and "mlbot.refresh" not in ctx.queue.kinds()
    say(ctx, "/status", author="rita", comment_id=80)
    assert "`/status`" in reply(ctx) and "no window has been judged yet" in reply(ctx)


def test_status_tells_the_latest_verdict_the_snooze_and_the_next_window() -> None:
    summary = WatchSummary("churn", "production", "3", "run-9", "/prod/day.csv", 1000, False, 0.1, 30,
                           ("x00: KS p=1e-30",), (), (), (), (FAILING,), "roc_auc", 0.81)
    tracker = FakeTracker(watched={("churn", "production"): (summary, NOW)},
                          snoozes={("churn", "production"): Snooze(4_000_000_000.0, "maya")})
    ctx = context(forge(), tracker)
    say(ctx, "/status", author="stranger")
    text = reply(ctx)
    assert "❌ needs attention" in text and "1 of 30 features (10%)" in text
    assert "roc_auc on labelled rows: 0.81" in text
    assert "failing: no feature drifted" in text and "`run-9`" in text
    assert "snoozed until 2096-10-02" in text and "next window: " in text and "0 6 * * *" in text


def test_retrain_refreshes_the_data_and_opens_one_pull_request_linked_from_the_issue() -> None:
    files = {"data/train.csv": b"x,label\n1,0\n", "data/old.csv": None}
    runner = FakeRunner(TrainingOutcome(True, "r", "", 1.0), refreshed=RefreshOutcome(True, files, ""))
    ctx = context(forge(), runner=runner)
    say(ctx, "/retrain")
    assert "running `python refresh.py` on the default branch" in reply(ctx)
    say(ctx, "/retrain", comment_id=77)  # the same comment again: one refresh
    assert ctx.queue.kinds().count("mlbot.refresh") == 1
    run_jobs(ctx, "mlbot.refresh")
    (job,) = runner.refreshes
    assert (job.branch, job.issue, job.by, job.comment_id) == ("main", 12, "maya", 77)
    (proposed,) = ctx.forge.proposed
    assert proposed["branch"] == "mlbot/refresh-churn-77" and proposed["files"] == files
    assert proposed["base"] == "main" and "watch #12" in proposed["title"] and "data/old.csv` (deleted)" in \
        proposed["body"]
    assert "opened #41 with the refreshed training data (2 files)" in reply(ctx)
    # its own pull_request webhook is ignored (loop safety): the bot starts the training itself, once
    assert ctx.queue.kinds().count("mlbot.train") == 1


def test_a_failed_refresh_says_why_in_the_issue_with_the_log() -> None:
    runner = FakeRunner(TrainingOutcome(True, "r", "", 1.0),
                        refreshed=RefreshOutcome(False, {}, "Traceback: no route to warehouse", "`python refresh.py` "
                                                 "exited with code 1."))
    ctx = context(forge(), runner=runner)
    say(ctx, "/retrain")
    run_jobs(ctx, "mlbot.refresh")
    assert ctx.forge.proposed == [] and "did not open a pull request" in reply(ctx)
    assert "no route to warehouse" in reply(ctx) and "exited with code 1" in reply(ctx)


def test_retrain_without_a_refresh_command_says_what_to_add() -> None:
    ctx = context(forge(files={"mlbot.yaml": WATCHED.replace(', refresh: "python refresh.py"', ""),
                               "policies/gates.yaml": "gates: []\n"}))
    say(ctx, "/retrain")
    assert "has no watch.refresh" in reply(ctx) and ctx.queue.kinds() == ["mlbot.command"]


def test_an_issue_that_is_not_the_bots_watch_issue_gets_no_watch_commands() -> None:
    spoof = Issue(13, "fake", issue_marker("churn", "production") + "\nplanted", "open", "mallory")
    ctx = context(forge(issues={13: spoof}))
    say(ctx, "/snooze 90d", author="maya", number=13)
    assert "not on other issues" in reply(ctx) and ctx.tracker.snoozes == {}


def test_watch_verbs_on_a_pull_request_and_pull_request_verbs_in_the_watch_issue_say_where_they_work() -> None:
    ctx = context(forge())
    say(ctx, "/promote")
    assert "`/promote` works on pull requests, not in a watch issue" in reply(ctx)
    event = IssueCommentEvent("issue_comment", "created", REPO, 1, "maya", "d-2", number=7, is_pull_request=True,
                              comment_id=90, body="/snooze 3d", author="maya", html_url="https://x/pull/7")
    ctx.forge.pulls[7] = pull()
    chatops.on_comment(event, ctx)
    for kind, payload, _ in list(ctx.queue.jobs):
        if payload.get("comment_id") == 90:
            chatops.run_comment(UnknownEvent(kind, "", "", None, "", payload=payload), ctx)
    assert "`/snooze` works in a watch issue, not on pull requests" in reply(ctx)


def test_help_in_the_watch_issue_lists_its_own_commands() -> None:
    ctx = context(forge())
    say(ctx, "/help", author="stranger")
    assert "in a watch issue" in reply(ctx) and "/snooze DURATION" in reply(ctx) and "/promote" not in reply(ctx)


def test_a_watch_issue_for_a_model_no_longer_watched_says_so() -> None:
    ctx = context(forge(files={"mlbot.yaml": WATCHED.replace("model: churn", "model: fraud"),
                               "policies/gates.yaml": "gates: []\n"}))
    say(ctx, "/snooze 3d")
    assert "watches fraud@production, not churn@production" in reply(ctx) and ctx.tracker.snoozes == {}


def test_the_bots_own_refresh_pull_request_is_trained_without_an_approval() -> None:
    from bot.usecases.training import start_training

    runner = FakeRunner(TrainingOutcome(True, "r", "", 1.0))
    ctx = context(forge(changed=["data/train.csv"]), runner=runner)
    refreshed = replace(pull(), author=BOT, number=41, head_ref="mlbot/refresh-churn-77")
    what = start_training(ctx, refreshed, trigger="pull_request")
    assert "approval" not in what and ctx.queue.kinds() == ["mlbot.train"]
