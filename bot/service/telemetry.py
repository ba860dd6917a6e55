"""The service's Prometheus metrics, kept by `prometheus_client` in a registry of their own.

One `Telemetry` per app (tests build several in one process); `/metrics` renders it with the
queue's gauges read at scrape time, and the production watch's gauges kept here by the reconciler
round (`refresh_watch`) and by a watch judged in this process (`record_watch`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.core.watch_report import WatchSummary
from bot.usecases.watch_gauges import Series, WatchGauges, summary_gauges

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mlbot_deliveries_received": ("Webhook deliveries received.", ()),
    "mlbot_deliveries_rejected": ("Deliveries refused, by reason.", ("reason",)),
    "mlbot_deliveries_duplicate": ("Deliveries whose id was already accepted.", ()),
    "mlbot_deliveries_accepted": ("Deliveries stored durably.", ()),
    "mlbot_deliveries_ignored": ("Deliveries of events no handler wants.", ()),
    "mlbot_jobs": ("Jobs finished by this process's workers, by outcome.", ("outcome",)),
    "mlbot_job_retries": ("Jobs put back to wait out GitHub or MLflow being unavailable.", ("dependency",)),
    "mlbot_jobs_given_up": ("Jobs the queue gave up on (failed or dead), by event.", ("event",)),
    "mlbot_reconciled": ("Events the reconciler queued that no webhook brought.", ("kind",)),
}
HISTOGRAMS = {
    "mlbot_webhook_seconds": "Time to answer POST /webhook.",
    "mlbot_job_seconds": "Time to handle one delivery in a worker.",
}
Gauges = Mapping[str, Mapping[tuple[tuple[str, str], ...], float]]

disable_created_metrics()  # type: ignore[no-untyped-call] # `_created` series per counter are noise on a dashboard


class _Gauges(Collector):
    """Gauges read at scrape time (queue depth, dead letters, …) from a callback."""

    def __init__(self) -> None:
        self.read: Any = lambda: {}

    def collect(self) -> Iterable[GaugeMetricFamily]:
        series_by_name: Gauges = self.read()
        for name, series in series_by_name.items():
            labels = sorted({k for key in series for k, _ in key})
            family = GaugeMetricFamily(name, name.replace("_", " "), labels=labels)
            for key, value in series.items():
                values = dict(key)
                family.add_metric([values.get(label, "") for label in labels], value)
            yield family


class Telemetry:
    """Counters and histograms for the edge and the in-process workers; thread-safe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters = {name: Counter(name, text, labelnames=labels, registry=self.registry)
                          for name, (text, labels) in COUNTERS.items()}
        self._histograms = {name: Histogram(name, text, buckets=BUCKETS, registry=self.registry)
                            for name, text in HISTOGRAMS.items()}
        self._gauges = _Gauges()
        self.registry.register(self._gauges)
        self._watch: dict[str, Series] = {}  # by repository (lower case)
        self._watch_lock = threading.Lock()

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` to counter `name` (its `_total` suffix optional)."""
        counter = self._counters[name.removesuffix("_total")]
        (counter.labels(**labels) if labels else counter).inc(amount)

    def observe(self, name: str, seconds: float) -> None:
        """Record one duration in histogram `name`."""
        self._histograms[name].observe(seconds)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter (0 when never counted)."""
        found = self.registry.get_sample_value(name if name.endswith("_total") else name + "_total", labels)
        return float(found or 0.0)

    def refresh_watch(self, read: WatchGauges) -> None:
        """Show a fresh read of the watch gauges; repositories it could not read keep their last values."""
        with self._watch_lock:
            kept = {repo: series for repo, series in self._watch.items() if repo in read.unread}
            self._watch = {**kept, **read.series}

    def record_watch(self, repo: str, summary: WatchSummary, ran_at: float | None = None) -> None:
        """Show the window just judged here for `repo`'s model, until the next round reads MLflow."""
        series = summary_gauges(repo, summary, time.time() if ran_at is None else ran_at)
        with self._watch_lock:
            self._watch = {**self._watch, repo.lower(): series}

    def watch_gauges(self) -> Gauges:
        """The watch gauges shown now, every repository's series under one name each."""
        with self._watch_lock:
            shown = list(self._watch.values())
        merged: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for series in shown:
            for name, values in series.items():
                merged.setdefault(name, {}).update(values)
        return merged

    def render(self, gauges: Gauges) -> bytes:
        """The Prometheus text exposition of every metric, plus `gauges` read just now and the watch's."""
        shown = {**gauges, **self.watch_gauges()}
        self._gauges.read = lambda: shown
        return generate_latest(self.registry)
