"""The watch schedule inside `mlbot serve`: one watch run per scheduled window, across workers and restarts.

Each round (the reconciler's, in every worker) asks, per repository, which window of `watch.schedule`
is current — the latest scheduled minute at or before now — and queues one `mlbot.watch` job keyed
by repository, model, alias and that minute. The queue accepts a key once, durably (SQLite or
Redis), so a second worker, a repeated round or a restarted server finds the window taken; a window
missed while the server was down still runs once when it comes back. The job dispatches the
scheduled watch workflow on the default branch, where `mlbot watch --post` does the work.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from bot.core.cron import last_due, parse_cron
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.repo_state import NotConfigured, read_settings

log = logging.getLogger("mlbot.watch")
WATCH_WORKFLOW = "mlbot-watch.yml"


@dataclass(frozen=True)
class WatchRequested:
    """Run the watch of `model`@`alias` in `repo` for the window that started at `window`."""

    kind: ClassVar[str] = "mlbot.watch"
    repo: str
    model: str
    alias: str
    window: str  # ISO minute, UTC

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> WatchRequested:
        return cls(str(payload["repo"]), str(payload["model"]), str(payload["alias"]), str(payload["window"]))


def window_key(job: WatchRequested) -> str:
    return f"watch:{job.repo.lower()}:{job.model}:{job.alias}:{job.window}"


def schedule_watch(ctx: Context, repo: str, now: datetime) -> WatchRequested | None:
    """Queue the current window's watch of `repo` unless it was queued before; return it when queued."""
    try:
        settings = read_settings(ctx, repo, ctx.forge.default_branch(repo))
    except NotConfigured:
        return None
    config = settings.config
    if config.watch is None:
        return None
    due = last_due(parse_cron(config.watch.schedule), now)
    if due is None:
        return None
    job = WatchRequested(repo, config.model, config.promote.alias, due.strftime("%Y-%m-%dT%H:%MZ"))
    return job if jobs.enqueue(ctx.queue, job, window_key(job)) else None


def run_watch(ctx: Context, job: WatchRequested) -> None:
    """Start the watch of one window: dispatch the scheduled watch workflow on the default branch."""
    branch = ctx.forge.default_branch(job.repo)
    config = read_settings(ctx, job.repo, branch).config
    if config.ci.runner != "actions":
        log.warning("%s uses the %s runner, which does not run watches yet; run `mlbot watch --post` from "
                    "cron or a scheduled workflow instead", job.repo, config.ci.runner)
        return
    ctx.forge.dispatch_workflow(job.repo, WATCH_WORKFLOW, branch, {})
    log.info("dispatched %s on %s@%s for the window of %s", WATCH_WORKFLOW, job.repo, branch, job.window)
