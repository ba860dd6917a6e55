"""The watch issue on the sandbox GitHub over HTTP with PyGithub: one per model, opened, updated, closed."""

from __future__ import annotations

from dataclasses import replace

from bot.adapters.github.client import GitHubForge
from bot.core import markers
from bot.core.watch_report import GateLine, TrendPoint, WatchSummary, issue_marker
from bot.sandbox import SandboxServer
from bot.usecases.watch import healthy_streak, sync_watch_issue
from tests.github.conftest import REPO
from tests.sandbox.test_fidelity import _validate_exchange

FAILING = GateLine("no feature drifted", "fail", "block", True, "drift share 10.0% (3 of 30 features: x00, x01, "
                   "x02) is above 0.0%", ("x00: KS p=1e-30 (corrected), Wasserstein/σ 0.52, mean +0.52 σ",))
PASSING = GateLine("no feature drifted", "pass", "block", False, "drift share 0.0% is within 0.0%")


def summary(healthy: bool, trend: tuple[bool, ...] = (), model: str = "churn") -> WatchSummary:
    points = tuple(TrendPoint(f"12-0{i + 1} 06:00", 0.0 if ok else 0.1, None, ok, f"run{i}")
                   for i, ok in enumerate((*trend, healthy)))
    return WatchSummary(
        model, "production", "3", points[-1].run_id, "/data/prod/day.parquet", 1000, healthy,
        0.0 if healthy else 0.1, 30, () if healthy else ("x00: KS p=1e-30 (corrected), Wasserstein/σ 0.52",),
        (), (), (), (PASSING if healthy else FAILING,), trend=points)


def open_watch_issues(sandbox: SandboxServer) -> list[int]:
    return [i.number for i in sandbox.github.store.issues.values() if i.state == "open"]


def test_the_marker_is_the_first_line() -> None:
    marker = markers.read(issue_marker("churn", "production"))
    assert marker is not None and (marker.kind, marker.fields) == ("watch", {"model": "churn", "alias": "production"})


def test_opened_on_failure_updated_while_drifting_closed_after_healthy_windows(
        forge: GitHubForge, sandbox: SandboxServer) -> None:
    assert sync_watch_issue(forge, REPO, summary(True), close_after=2).action == "none"
    assert open_watch_issues(sandbox) == []

    opened = sync_watch_issue(forge, REPO, summary(False, (True,)), close_after=2)
    assert opened.action == "opened" and opened.number is not None
    issue = sandbox.github.store.issues[(REPO, opened.number)]
    assert issue.title == "mlbot watch: churn@production needs attention"
    assert issue.body is not None and issue.body.startswith("<!-- mlbot:watch model=churn alias=production -->\n")
    assert "x00" in issue.body and "xychart-beta" in issue.body and "run0" in issue.body

    again = sync_watch_issue(forge, REPO, summary(False, (True, False)), close_after=2)
    assert (again.action, again.number) == ("updated", opened.number)
    assert open_watch_issues(sandbox) == [opened.number]  # still one

    one_healthy = sync_watch_issue(forge, REPO, summary(True, (False, False)), close_after=2)
    assert one_healthy.action == "updated" and open_watch_issues(sandbox) == [opened.number]
    closed = sync_watch_issue(forge, REPO, summary(True, (False, True)), close_after=2)
    assert (closed.action, open_watch_issues(sandbox)) == ("closed", [])
    assert "2 healthy windows in a row" in (sandbox.github.store.issues[(REPO, opened.number)].body or "")

    reopened = sync_watch_issue(forge, REPO, summary(False, (True, True)), close_after=2)
    assert reopened.action == "opened" and reopened.number != opened.number


def test_each_model_has_its_own_issue(forge: GitHubForge, sandbox: SandboxServer) -> None:
    first = sync_watch_issue(forge, REPO, summary(False), close_after=2)
    second = sync_watch_issue(forge, REPO, summary(False, model="fraud"), close_after=2)
    assert first.number != second.number and len(open_watch_issues(sandbox)) == 2


def test_an_issue_someone_else_wrote_with_the_marker_is_not_the_bots(
        make_forge, forge: GitHubForge, sandbox: SandboxServer) -> None:  # type: ignore[no-untyped-def]
    alice = make_forge(token=sandbox.github.token_for("alice"), bot_login="alice")
    alice.create_issue(REPO, "fake", issue_marker("churn", "production") + "\nspoof")
    assert forge.find_issue(REPO, issue_marker("churn", "production")) is None


def test_the_issue_routes_answer_like_github(forge: GitHubForge, sandbox: SandboxServer) -> None:
    exchanges = sandbox.github.record_exchanges()
    opened = sync_watch_issue(forge, REPO, summary(False), close_after=1)
    sync_watch_issue(forge, REPO, summary(True, (False,)), close_after=1)
    assert opened.number is not None
    problems, covered = [], set()
    for exchange in exchanges:
        operation, found = _validate_exchange(exchange)
        covered.add(operation)
        problems += found
    assert problems == []
    assert {("get", "/repos/{owner}/{repo}/issues"), ("post", "/repos/{owner}/{repo}/issues"),
            ("patch", "/repos/{owner}/{repo}/issues/{issue_number}")} <= covered


def test_the_healthy_streak_counts_back_from_the_latest_window() -> None:
    assert healthy_streak(summary(True, (False, True, True))) == 3
    assert healthy_streak(summary(False, (True,))) == 0
    assert healthy_streak(replace(summary(True), trend=())) == 1


def test_a_snoozed_watch_opens_nothing_but_keeps_an_open_issue_up_to_date(
        forge: GitHubForge, sandbox: SandboxServer) -> None:
    snoozed = replace(summary(False), snoozed_until=1_900_000_000.0, snoozed_by="alice")
    quiet = sync_watch_issue(forge, REPO, snoozed, close_after=2)
    assert quiet.action == "snoozed" and open_watch_issues(sandbox) == []
    assert "snoozed until 2030-03-17 17:46 UTC" in quiet.describe(snoozed)

    opened = sync_watch_issue(forge, REPO, summary(False), close_after=2)
    updated = sync_watch_issue(forge, REPO, replace(snoozed, trend=summary(False, (False,)).trend), close_after=2)
    assert (updated.action, updated.number) == ("updated", opened.number)
    body = sandbox.github.store.issues[(REPO, opened.number)].body or ""
    assert "🔕 Snoozed until 2030-03-17 17:46 UTC by @\u200dalice" in body  # recorded, not pinged


def test_when_the_snooze_ends_on_a_failing_window_the_issue_is_told_once(
        forge: GitHubForge, sandbox: SandboxServer) -> None:
    opened = sync_watch_issue(forge, REPO, replace(summary(False), snoozed_until=1_900_000_000.0), close_after=2)
    assert opened.action == "snoozed"
    opened = sync_watch_issue(forge, REPO, summary(False), close_after=2)
    sync_watch_issue(forge, REPO, replace(summary(False), snoozed_until=1_900_000_000.0), close_after=2)
    assert opened.number is not None
    comments = lambda: [c.body for c in forge.list_comments(REPO, opened.number)]  # noqa: E731
    assert comments() == []
    sync_watch_issue(forge, REPO, summary(False, (False,)), close_after=2)  # the snooze ended
    told = comments()
    assert len(told) == 1 and "The snooze has ended" in told[0] and "no feature drifted" in told[0]
    sync_watch_issue(forge, REPO, summary(False, (False, False)), close_after=2)
    assert len(comments()) == 1  # once: the banner is gone from the body now


def test_a_proposed_change_is_one_branch_one_commit_per_file_and_one_pull_request(
        forge: GitHubForge, sandbox: SandboxServer) -> None:
    base = forge.default_branch(REPO)
    base_sha = forge.branch_sha(REPO, base)
    files = {"data/train.csv": b"a,b\n1,2\n", "data/new.csv": b"x\n1\n"}
    kwargs = dict(base=base, base_sha=base_sha, branch="mlbot/refresh-churn-7", files=files,
                  message="Refresh the training data", title="Refresh churn's training data", body="asked in #3")
    pull = forge.propose_change(REPO, **kwargs)  # type: ignore[arg-type]
    again = forge.propose_change(REPO, **kwargs)  # type: ignore[arg-type]  # a retried job
    assert again.number == pull.number and (pull.head_ref, pull.base_ref) == ("mlbot/refresh-churn-7", base)
    assert forge.get_file(REPO, "data/new.csv", pull.head_sha) == b"x\n1\n"
    assert forge.get_file(REPO, "data/train.csv", pull.head_sha) == b"a,b\n1,2\n"
    head = forge.branch_sha(REPO, "mlbot/refresh-churn-7")
    assert forge.get_pull(REPO, pull.number).head_sha == head  # nothing written twice after the retry
    assert len([p for p in sandbox.github.store.pulls.values() if p.head_ref == "mlbot/refresh-churn-7"]) == 1
    removed = forge.propose_change(REPO, **{**kwargs, "files": {"data/new.csv": None}})  # type: ignore[arg-type]
    assert removed.number == pull.number
    assert forge.get_file(REPO, "data/new.csv", forge.branch_sha(REPO, "mlbot/refresh-churn-7")) is None
