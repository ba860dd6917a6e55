"""Run the reconciler on start and then every `MLBOT_RECONCILE_INTERVAL` seconds, in a worker process.

Several workers may run it: a shared lock lets one round run at a time, and the job keys make a
round that repeats another's harmless. Each round also reads the production watch's gauges from
MLflow into this process's telemetry, so /metrics shows them without calling MLflow on a scrape.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.ports import Context, Repositories
from bot.service.telemetry import Telemetry
from bot.usecases.locks import holding
from bot.usecases.reconcile import reconcile
from bot.usecases.watch_gauges import read_watch_gauges
from bot.usecases.watch_schedule import schedule_watch

log = logging.getLogger("mlbot.reconcile")


class Reconciler:
    """A daemon thread: one round per interval over every repository the bot has worked for."""

    def __init__(self, context: Callable[[], Context], interval: float, telemetry: Telemetry | None = None,
                 repositories: Repositories | None = None) -> None:
        self.context, self.interval, self.telemetry = context, interval, telemetry
        self.repositories = repositories  # the book itself, read without building the context
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mlbot-reconciler", daemon=True)

    def start(self) -> Reconciler:
        if self.interval > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.round()
            except Exception:  # a round must never kill the worker; the next one tries again
                log.exception("a reconciler round failed; trying again in %g s", self.interval)
            self._stop.wait(max(1.0, self.interval - (time.monotonic() - started)))

    def round(self) -> None:
        """Reconcile every known repository once (none known yet: nothing is built, nothing imported)."""
        if self.repositories is not None and not self.repositories.since():
            return  # a fresh bot: no GitHub client or MLflow import just to find nothing to do
        ctx = self.context()
        if ctx.repositories is None:
            return
        self._decide(ctx, ctx.repositories)
        if self.telemetry is not None and not self._stop.is_set():
            # outside the round's lock: reading needs no exclusion, and each process serves its own /metrics
            self.telemetry.refresh_watch(read_watch_gauges(ctx, time.time()))

    def _decide(self, ctx: Context, book: Repositories) -> None:
        """Reconcile each repository of the book and queue its current watch window."""
        with holding(ctx, "reconcile", lease=600):
            for repo, since in sorted(book.since().items()):
                if self._stop.is_set():
                    return
                try:
                    done = reconcile(ctx, repo, since)
                except Exception as error:  # GitHub down for this one: the others still get their turn
                    log.warning("could not reconcile %s: %s", repo, error)
                else:
                    if self.telemetry is not None:
                        self.telemetry.count("mlbot_reconciled", done.promotions, kind="promotion")
                        self.telemetry.count("mlbot_reconciled", done.trainings, kind="training")
                try:  # the production watch's schedule: one job per window, deduped by its key
                    schedule_watch(ctx, repo, datetime.now(UTC))
                except Exception as error:  # e.g. a broken mlbot.yaml: the check on its next PR says so
                    log.warning("could not schedule the watch of %s: %s", repo, error)
