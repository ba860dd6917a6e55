"""The watch issue: exactly one open issue per model and alias, kept in step with each judged window.

Opened when a blocking watch gate fails; updated on every run while open (what drifted, by how
much, the trend, the runs); closed by the bot once the last `close_after` windows were healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.watch_report import WatchSummary, issue_marker, issue_title, render_issue
from bot.ports import Forge

Action = Literal["none", "opened", "updated", "closed"]


@dataclass(frozen=True)
class IssueOutcome:
    action: Action
    number: int | None = None
    url: str = ""

    def describe(self, summary: WatchSummary) -> str:
        where = f"#{self.number}" + (f" ({self.url})" if self.url else "")
        return {"none": f"{summary.model}@{summary.alias} is healthy; no watch issue is open",
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
    if existing is None:
        if summary.healthy:
            return IssueOutcome("none")
        created = forge.create_issue(repo, issue_title(summary), render_issue(summary))
        return IssueOutcome("opened", created.number, created.html_url)
    streak = healthy_streak(summary)
    if summary.healthy and streak >= close_after:
        closing = f"✅ {streak} healthy windows in a row, so mlbot closed this issue"
        forge.update_issue(repo, existing.number, body=render_issue(summary, closing=closing), state="closed")
        return IssueOutcome("closed", existing.number, existing.html_url)
    forge.update_issue(repo, existing.number, body=render_issue(summary))
    return IssueOutcome("updated", existing.number, existing.html_url)
