"""Counters and a latency histogram rendered in the Prometheus text format (no I/O)."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import ClassVar

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Histogram:
    """Cumulative buckets, sum and count, like a Prometheus client histogram."""

    def __init__(self, buckets: Sequence[float] = BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, seconds)] += 1
        self.total += seconds

    def lines(self, name: str, labels: Mapping[str, str]) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f"{name}_bucket{_labels({**labels, 'le': le})} {running}")
        out.append(f"{name}_sum{_labels(labels)} {self.total}")
        out.append(f"{name}_count{_labels(labels)} {running}")
        return out


class Telemetry:
    """The service's metrics; thread-safe, shared by the edge and the in-process worker."""

    HELP: ClassVar[dict[str, tuple[str, str]]] = {
        "mlbot_deliveries_received_total": ("counter", "Webhook deliveries received."),
        "mlbot_deliveries_rejected_total": ("counter", "Deliveries refused, by reason."),
        "mlbot_deliveries_duplicate_total": ("counter", "Deliveries whose id was already accepted."),
        "mlbot_deliveries_accepted_total": ("counter", "Deliveries stored durably."),
        "mlbot_deliveries_ignored_total": ("counter", "Deliveries of events no handler wants."),
        "mlbot_jobs_total": ("counter", "Jobs finished by this process's workers, by outcome."),
        "mlbot_webhook_seconds": ("histogram", "Time to answer POST /webhook."),
        "mlbot_job_seconds": ("histogram", "Time to handle one delivery in a worker."),
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._histograms: dict[tuple[str, tuple[tuple[str, str], ...]], Histogram] = {}

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` to counter `name`."""
        with self._lock:
            self._counters[(name, tuple(sorted(labels.items())))] += amount

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Record one duration in histogram `name`."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._histograms.setdefault(key, Histogram()).observe(seconds)

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter (0 when never counted)."""
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def render(self, gauges: Mapping[str, Mapping[tuple[tuple[str, str], ...], float]]) -> str:
        """The Prometheus text exposition of every metric, plus `gauges` read just now."""
        lines: list[str] = []
        with self._lock:
            for name, (kind, text) in self.HELP.items():
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                if kind == "counter":
                    lines += [f"{name}{_labels(dict(lb))} {v:g}" for (n, lb), v in
                              sorted(self._counters.items()) if n == name]
                    if not any(n == name for n, _ in self._counters):
                        lines.append(f"{name} 0")
                else:
                    for (n, lb), hist in sorted(self._histograms.items(), key=lambda kv: kv[0]):
                        if n == name:
                            lines += hist.lines(name, dict(lb))
        for name, series in gauges.items():
            lines += [f"# TYPE {name} gauge"]
            lines += [f"{name}{_labels(dict(lb))} {v:g}" for lb, v in series.items()]
        return "\n".join(lines) + "\n"
