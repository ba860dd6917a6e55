"""Time `predict` honestly: candidate and production in one process, interleaved, repeated, on CPU time.

A wall-clock p95 measures the machine as much as the model: on a busy two-core laptop the same model
measured 26.6 ms and 51.7 ms on two runs. Here each single-row `predict` is timed on the process's
CPU time (`time.process_time_ns`: the time the process actually ran, across its threads, not the
time it waited for a core), the two models take turns on the same rows (who goes first alternates,
so neither always meets a cold cache), and each row is repeated. What comes out:

- the candidate's p95 with a distribution-free 95% CI (order statistics of a binomial count),
- when production is given, the ratio of the two p95s with a paired bootstrap CI over (row, repeat).

The numbers are bounded by counts (rows × repeats), never by elapsed time.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
LATENCY_ROWS = 30  # rows timed; bounded so big eval sets stay cheap
REPEATS = 2  # each row is timed this often per model: 60 samples each (≈ 1 s of CPU for a 200-tree forest)
WARMUP = 3  # untimed predictions per model first (imports, caches, lazy init)
QUANTILE = 0.95
RATIO_RESAMPLES = 1000
MAX_ROUNDS = 3  # a noisy machine gets up to three rounds of rows × repeats, never an open-ended duration
NOISY_RATIO_WIDTH = 1.3  # a ratio CI wider than this (high / low) is measured another round
Clock = Callable[[], int]


@dataclass(frozen=True)
class LatencySamples:
    """Milliseconds per single-row predict, one per (repeat, row), in the order they were taken."""

    candidate: FloatArray
    production: FloatArray | None
    clock: str


def _rows(features: Any, rows: int) -> list[Any]:
    """Single-row inputs, sliced before timing so slicing is not measured."""
    head = features.head(rows) if hasattr(features, "head") else features[:rows]
    if hasattr(head, "iloc"):
        return [head.iloc[[i]] for i in range(len(head))]
    return [head[i:i + 1] for i in range(len(head))]


def time_models(candidate: Any, production: Any | None, features: Any, *, rows: int = LATENCY_ROWS,
                repeats: int = REPEATS, warmup: int = WARMUP, clock: Clock = time.process_time_ns,
                clock_name: str = "process CPU time") -> LatencySamples:
    """Time single-row `predict` of both models on the same rows, interleaved, `repeats` times."""
    inputs = _rows(features, rows)
    models = [candidate] if production is None else [candidate, production]
    for model in models:
        for row in inputs[:warmup]:
            model.predict(row)
    taken: list[list[float]] = [[] for _ in models]
    for repeat in range(repeats):
        for index, row in enumerate(inputs):
            order = range(len(models)) if (repeat + index) % 2 == 0 else reversed(range(len(models)))
            for which in order:
                start = clock()
                models[which].predict(row)
                taken[which].append((clock() - start) / 1e6)
    arrays = [np.asarray(t, dtype=np.float64) for t in taken]
    return LatencySamples(arrays[0], arrays[1] if production is not None else None, clock_name)


def quantile_ci(samples: FloatArray, q: float = QUANTILE, confidence: float = 0.95) -> tuple[float, float, float]:
    """The q-quantile and a distribution-free CI: order statistics around the binomial count n·q."""
    ordered = np.sort(samples)
    n = len(ordered)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    spread = z * math.sqrt(n * q * (1 - q))
    lo = ordered[max(0, math.floor(n * q - spread) - 1)]
    hi = ordered[min(n - 1, math.ceil(n * q + spread))]
    return float(np.quantile(ordered, q)), float(lo), float(hi)


def ratio_ci(candidate: FloatArray, production: FloatArray, q: float = QUANTILE, confidence: float = 0.95,
             resamples: int = RATIO_RESAMPLES, seed: int = 0) -> tuple[float, float, float]:
    """p_q(candidate) / p_q(production) and its paired percentile-bootstrap CI (pairs drawn jointly)."""
    tiny = 1e-9  # a predict faster than the clock's resolution must not divide by zero
    ratio = float(np.quantile(candidate, q) / max(float(np.quantile(production, q)), tiny))
    idx = np.random.default_rng(seed).integers(0, len(candidate), size=(resamples, len(candidate)))
    draws = np.quantile(candidate[idx], q, axis=1) / np.maximum(np.quantile(production[idx], q, axis=1), tiny)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(draws, [tail, 1 - tail])
    return ratio, float(lo), float(hi)


def summarise(samples: LatencySamples) -> dict[str, float]:
    """The metrics `mlbot train` logs: `predict_p95_ms` (+ CI) and, with production, `latency_ratio` (+ CI)."""
    p95, lo, hi = quantile_ci(samples.candidate)
    out = {"predict_p95_ms": p95, "predict_p95_ms_ci_low": lo, "predict_p95_ms_ci_high": hi}
    if samples.production is not None:
        out["production.predict_p95_ms"] = float(np.quantile(samples.production, QUANTILE))
        ratio, r_lo, r_hi = ratio_ci(samples.candidate, samples.production)
        out.update({"latency_ratio": ratio, "latency_ratio_ci_low": r_lo, "latency_ratio_ci_high": r_hi})
    return out


def latency_metrics(candidate: Any, production: Any | None, features: Any) -> dict[str, float]:
    """Time both models on the eval features and summarise (what `train` calls).

    When the ratio's CI is wider than ×NOISY_RATIO_WIDTH (a busy machine: a p95 rests on the few
    slowest samples), another round is timed, up to MAX_ROUNDS. Whether to go on depends on the
    interval's width only, never on which way the ratio leans, so the stopping rule favours neither model.
    """
    samples = time_models(candidate, production, features)
    for _ in range(MAX_ROUNDS - 1):
        if samples.production is None:
            break
        _, low, high = ratio_ci(samples.candidate, samples.production)
        if high <= NOISY_RATIO_WIDTH * max(low, 1e-9):
            break
        more = time_models(candidate, production, features, warmup=0)
        assert more.production is not None
        samples = LatencySamples(np.concatenate([samples.candidate, more.candidate]),
                                 np.concatenate([samples.production, more.production]), samples.clock)
    return summarise(samples)
