"""Actions-only mode for the production watch: `mlbot watch --post` keeps the watch issue up to date."""

from __future__ import annotations

from bot.core.errors import UsageError
from bot.core.watch_report import WatchSummary
from bot.service.actions_mode import actions_forge
from bot.service.settings import Settings, actions_environment
from bot.usecases.watch import sync_watch_issue


def watch_in_actions(settings: Settings, summary: WatchSummary, *, close_after: int) -> str:
    """Open, update or close this repository's watch issue for `summary`; say what was done."""
    env = actions_environment()
    if env is None:
        raise UsageError("--post works inside a GitHub Actions job (GITHUB_REPOSITORY and GITHUB_EVENT_PATH "
                         "are not set)", hint="run `mlbot watch` without --post here, or from mlbot-watch.yml")
    outcome = sync_watch_issue(actions_forge(env, settings), env.repository, summary, close_after=close_after)
    return outcome.describe(summary)
