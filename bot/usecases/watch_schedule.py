"""The watch schedule inside `mlbot serve`: one watch run per scheduled window, across workers and restarts.

Each round (the reconciler's, in every worker) asks, per repository, which window of `watch.schedule`
is current — the latest scheduled minute at or before now — and queues one `mlbot.watch` job keyed
by repository, model, alias and that minute. The queue accepts a key once, durably (SQLite or
Redis), so a second worker, a repeated round or a restarted server finds the window taken; a window
missed while the server was down still runs once when it comes back. The job hands the window to
the repository's runner (`ci.runner`): the Actions runner dispatches the scheduled watch workflow on
the default branch, where `mlbot watch --post` does the work; the local runner runs `mlbot watch`
on the default branch's checkout here, and this job keeps the watch issue from its summary.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, ClassVar

from bot.core.cron import last_due, parse_cron
from bot.core.errors import ShuttingDown
from bot.core.types import WatchJob
from bot.core.watch_report import WatchSummary
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.repo_state import NotConfigured, read_settings
from bot.usecases.watch import sync_watch_issue

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
    """Watch one window where the repository runs its jobs; keep the watch issue when the watch ran here.

    Only a Transient error (MLflow or GitHub down) or a shutdown runs the window again; a watch that
    failed is logged and left, so a broken window command does not retry forever.
    """
    branch = ctx.forge.default_branch(job.repo)
    sha = ctx.forge.branch_sha(job.repo, branch)
    config = read_settings(ctx, job.repo, sha).config
    if config.watch is None:
        log.info("%s has no `watch:` section on %s any more; the window of %s is not watched", job.repo, branch,
                 job.window)
        return
    runner = ctx.runners.get(config.ci.runner)
    if runner is None:
        log.warning("%s runs its jobs on the %s runner, which this bot has not configured; the window of %s is "
                    "not watched", job.repo, config.ci.runner, job.window)
        return
    # the rules read above and the checkout the runner judges with are one commit
    outcome = runner.watch(WatchJob(job.repo, branch, sha, job.window, ctx.forge.clone_url(job.repo)))
    if runner.stopping:  # SIGTERM cut the watch short: the window runs again after the restart
        raise ShuttingDown(f"the watch of {job.repo} for the window of {job.window} was stopped by a shutdown")
    if outcome is None:
        log.info("dispatched %s on %s@%s for the window of %s", WATCH_WORKFLOW, job.repo, branch, job.window)
        return
    if not outcome.ok:
        log.warning("the watch of %s for the window of %s failed: %s\n%s", job.repo, job.window, outcome.message,
                    outcome.log_tail)
        return
    if outcome.summary is None:
        log.info("the watch of %s for the window of %s judged nothing: %s", job.repo, job.window, outcome.message)
        return
    summary = WatchSummary.from_json(outcome.summary)
    if summary.run_url is None and ctx.mlflow_url and summary.run_id:
        summary = replace(summary, run_url=f"{ctx.mlflow_url.rstrip('/')}/#/experiments/-/runs/{summary.run_id}")
    issue = sync_watch_issue(ctx.forge, job.repo, summary, close_after=config.watch.close_after)
    log.info("watched %s for the window of %s: %s %s", job.repo, job.window, outcome.message,
             issue.describe(summary))
