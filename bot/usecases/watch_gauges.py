"""The production watch on /metrics: per watched model, what its latest monitoring run says.

MLflow is the source of truth, so every `mlbot serve` process shows the same values. The
reconciler's round reads them (`read_watch_gauges`) — a scrape never waits on MLflow — and a watch
judged in this process can show its window at once (`summary_gauges`), before the next round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.types import Snooze
from bot.core.watch_report import WatchSummary
from bot.ports import Context
from bot.usecases.repo_state import NotConfigured, read_settings

log = logging.getLogger("mlbot.watch")

Labels = tuple[tuple[str, str], ...]
Series = dict[str, dict[Labels, float]]  # gauge name → labels → value

DRIFT_SHARE = "mlbot_watch_drift_share"
HEALTHY = "mlbot_watch_healthy"
METRIC = "mlbot_watch_metric"
LAST_RUN = "mlbot_watch_last_run_timestamp_seconds"
SNOOZED = "mlbot_watch_snoozed"


@dataclass(frozen=True)
class WatchGauges:
    """One read of the watch gauges, by repository (lower case); `unread`: those that could not be read now."""

    series: dict[str, Series]
    unread: frozenset[str] = frozenset()


def labelled_metric(summary: WatchSummary) -> float | None:
    """The primary metric on the latest window that had labels: this one, else the newest in its trend."""
    if summary.primary_value is not None:
        return summary.primary_value
    return next((p.metric for p in reversed(summary.trend) if p.metric is not None), None)


def model_gauges(repo: str, model: str, alias: str, latest: tuple[WatchSummary, float] | None,
                 snoozed: bool) -> Series:
    """The gauges of `model`@`alias` in `repo`; without a monitoring run yet, only whether it is snoozed."""
    labels: Labels = (("repo", repo.lower()), ("model", model), ("alias", alias))
    series: Series = {SNOOZED: {labels: 1.0 if snoozed else 0.0}}
    if latest is None:
        return series
    summary, ran_at = latest
    series[DRIFT_SHARE] = {labels: summary.drift_share}
    series[HEALTHY] = {labels: 1.0 if summary.healthy else 0.0}
    series[LAST_RUN] = {labels: ran_at}
    metric = labelled_metric(summary)
    if metric is not None and summary.primary:
        series[METRIC] = {(*labels, ("metric", summary.primary)): metric}
    return series


def summary_gauges(repo: str, summary: WatchSummary, ran_at: float) -> Series:
    """The gauges of a window judged just now (`ran_at`, epoch s), as the next round will read them back."""
    snoozed = summary.snoozed_until is not None and summary.snoozed_until > ran_at
    return model_gauges(repo, summary.model, summary.alias, (summary, ran_at), snoozed)


def _in_force(snooze: Snooze | None, now: float) -> bool:
    return snooze is not None and snooze.until > now


def read_watch_gauges(ctx: Context, now: float) -> WatchGauges:
    """The gauges of every model watched in a repository of the book (default branch's `watch:`)."""
    if ctx.repositories is None:
        return WatchGauges({})
    series: dict[str, Series] = {}
    unread: set[str] = set()
    for repo in sorted(ctx.repositories.since()):
        try:
            config = read_settings(ctx, repo, ctx.forge.default_branch(repo)).config
            if config.watch is None:
                continue
            model, alias = config.model, config.promote.alias
            latest = ctx.tracker.latest_watch(config.experiment_name, model, alias)
            snoozed = _in_force(ctx.tracker.watch_snooze(model, alias), now)
        except NotConfigured:
            continue  # no mlbot.yaml on the default branch: nothing watched there
        except Exception as error:  # GitHub or MLflow down, a broken mlbot.yaml: keep what was shown
            log.warning("could not read the watch gauges of %s: %s", repo, error)
            unread.add(repo.lower())
            continue
        series[repo.lower()] = model_gauges(repo, model, alias, latest, snoozed)
    return WatchGauges(series, frozenset(unread))
