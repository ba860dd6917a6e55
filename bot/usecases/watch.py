"""The watch issue: exactly one open issue per model and alias, kept in step with each judged window.

Opened when a blocking watch gate fails; updated on every run while open (what drifted, by how
much, the trend, the runs); closed by the bot once the last `close_after` windows were healthy.
While a `/snooze` is in force no issue is opened (an open one is still kept up to date); when the
snooze ends and the window still fails, the bot says so in the issue, so somebody is told again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.report import escape_md
from bot.core.watch_report import SNOOZE_BANNER, WatchSummary, issue_marker, issue_title, render_issue, when
from bot.ports import Forge

Action = Literal["none", "snoozed", "opened", "updated", "closed"]


@dataclass(frozen=True)
class IssueOutcome:
    action: Action
    number: int | None = None
    url: str = ""

    def describe(self, summary: WatchSummary) -> str:
        where = f"#{self.number}" + (f" ({self.url})" if self.url else "")
        until = when(summary.snoozed_until) if summary.snoozed_until else ""
        return {"none": f"{summary.model}@{summary.alias} is healthy; no watch issue is open",
                "snoozed": f"{summary.model}@{summary.alias} needs attention, but the watch is snoozed until "
                           f"{until}, so no issue was opened",
                "opened": f"opened the watch issue {where}", "updated": f"updated the watch issue {where}",
                "closed": f"closed the watch issue {where}"}[self.action]


def healthy_streak(summary: WatchSummary) -> int:
    """How many of the latest windows in a row were healthy (this one included)."""
    points = [p.healthy for p in summary.trend] or [summary.healthy]
    streak = 0
    for healthy in reversed(points):
        if not healthy:
            break
        streak += 1
    return streak


def sync_watch_issue(forge: Forge, repo: str, summary: WatchSummary, *, close_after: int) -> IssueOutcome:
    """Open, update or close the watch issue of `summary`'s model and alias."""
    existing = forge.find_issue(repo, issue_marker(summary.model, summary.alias))
    snoozed = summary.snoozed_until is not None
    if existing is None:
        if summary.healthy:
            return IssueOutcome("none")
        if snoozed:
            return IssueOutcome("snoozed")
        created = forge.create_issue(repo, issue_title(summary), render_issue(summary))
        return IssueOutcome("opened", created.number, created.html_url)
    streak = healthy_streak(summary)
    if summary.healthy and streak >= close_after:
        closing = f"✅ {streak} healthy windows in a row, so mlbot closed this issue"
        forge.update_issue(repo, existing.number, body=render_issue(summary, closing=closing), state="closed")
        return IssueOutcome("closed", existing.number, existing.html_url)
    forge.update_issue(repo, existing.number, body=render_issue(summary))
    if not summary.healthy and not snoozed and SNOOZE_BANNER in existing.body:
        failing = [f"- {escape_md(g.name)}: {escape_md(g.reason)}" for g in summary.gates
                   if g.blocking and g.verdict == "fail"]
        forge.create_comment(repo, existing.number, "\n".join([
            f"The snooze has ended and {escape_md(summary.model)}@{escape_md(summary.alias)} still needs attention "
            "(the body above has the latest window):", "", *failing]))
    return IssueOutcome("updated", existing.number, existing.html_url)
