"""Latency measured on CPU time, interleaved with production: the demo's gate holds on a busy machine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.core.config import load_project
from bot.core.judge.compare import RunView
from bot.core.judge.gates import evaluate_gate
from bot.core.policy import load_policies
from bot.training.dataset import load_dataset
from bot.training.fit import fit_declarative
from bot.training.latency import latency_metrics, quantile_ci, ratio_ci, summarise, time_models
from tests.analysis.builders import comparison, metric

DEMO = Path(__file__).parents[2] / "examples" / "breast-cancer"


class Counting:
    """A model whose predict costs nothing and records the order it was called in."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def predict(self, rows: object) -> list[int]:
        self.log.append(self.name)
        return [0]


def test_models_take_turns_on_the_same_rows_after_a_warmup() -> None:
    log: list[str] = []
    ticks = iter(range(0, 10**9, 1000))
    samples = time_models(Counting("c", log), Counting("p", log), np.zeros((5, 2)), rows=3, repeats=2,
                          warmup=1, clock=lambda: next(ticks))
    # warmup, then per row the first model alternates: repeat 0 rows 0-2, repeat 1 rows 0-2
    assert log == ["c", "p", "c", "p", "p", "c", "c", "p", "p", "c", "c", "p", "p", "c"]
    assert samples.production is not None
    assert len(samples.candidate) == len(samples.production) == 6
    assert set(samples.candidate.tolist()) == {0.001}  # one tick = 1,000 ns = 0.001 ms


def test_p95_interval_brackets_the_quantile_and_ratio_of_equal_models_is_one() -> None:
    rng = np.random.default_rng(0)
    a = rng.gamma(4.0, 2.0, 400)
    p95, lo, hi = quantile_ci(a)
    assert lo <= p95 <= hi and lo < hi
    ratio, r_lo, r_hi = ratio_ci(a, a)
    assert ratio == 1.0 and r_lo == r_hi == 1.0
    slower = summarise(time_models(Counting("c", []), None, np.zeros((4, 1)), rows=4, repeats=5,
                                   clock=iter(range(0, 10**9, 2_000_000)).__next__))
    assert slower["predict_p95_ms"] == 2.0 and "latency_ratio" not in slower


@pytest.fixture
def busy_cores() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two processes spinning on the CPU (this machine has two cores) for the length of a test."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield hogs
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.slow
def test_the_demo_latency_gate_passes_with_both_cores_busy(busy_cores: list[subprocess.Popen[bytes]]) -> None:
    project = load_project(DEMO)
    dataset = load_dataset(project)
    model = fit_declarative(project, dataset, project.config.train.params, lambda _: None)
    facts = latency_metrics(model, model, dataset.features("eval"))  # production: the same model, as train times it
    assert all(hog.poll() is None for hog in busy_cores)  # the cores stayed busy throughout
    policy = load_policies({"gates.yaml": (DEMO / "policies" / "gates.yaml").read_text()})
    demo_gate = next(g for g in policy.gates if g.model is not None)
    run = RunView("c", metrics={"model_size_mb": 1.0, **facts})
    result = evaluate_gate(demo_gate, comparison(metric("roc_auc", 0.99, 0.99, (-0.01, 0.01)), candidate=run),
                           None)
    assert result.verdict == "pass", result.reason
    ratio = load_policies({"r.yaml": "gates:\n  - {name: r, model: {max_latency_ratio: 1.5}}\n"}).gates[0]
    same = evaluate_gate(ratio, comparison(metric("roc_auc", 0.99, 0.99, (-0.01, 0.01)), candidate=run), None)
    assert same.verdict == "pass", same.reason


def test_a_noisy_ratio_is_timed_another_round_and_a_quiet_one_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.training.latency as latency

    rounds: list[int] = []
    steady = np.full(60, 2.0)
    noisy = np.concatenate([np.full(54, 1.0), np.full(6, 9.0)])  # a p95 that rests on a few slow samples

    def timed(candidate: object, production: object, features: object, **_: object) -> latency.LatencySamples:
        rounds.append(1)
        return latency.LatencySamples(noisy if candidate == "noisy" else steady, steady, "fake")

    monkeypatch.setattr(latency, "time_models", timed)
    quiet = latency_metrics("steady", "steady", None)
    assert len(rounds) == 1 and quiet["latency_ratio"] == pytest.approx(1.0)
    rounds.clear()
    latency_metrics("noisy", "steady", None)
    assert len(rounds) == latency.MAX_ROUNDS  # bounded: still noisy after three rounds, and it stops
