"""Hand-built comparisons and synthetic prediction tables shared by the analysis tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.core.judge.compare import Comparison, MetricComparison, ParamsDiff, RunView, SliceComparison
from bot.core.judge.datadiff import ColumnDiff, DataDiff
from bot.core.judge.flips import Flips
from bot.core.judge.intervals import BOOTSTRAP, DELONG, MULTINOMIAL
from bot.core.judge.table import PredictionTable

CANDIDATE = RunView(
    "c0ffee0000000000000000000000000a",
    metrics={"model_size_mb": 3.2, "predict_p95_ms": 4.5},
    params={"n_estimators": "300", "max_depth": "8"},
    tags={"mlbot.sha": "1234567890abcdef", "mlbot.pr": "7", "mlbot.eval_sha256": "e" * 64},
    experiment_id="1",
)
PRODUCTION = RunView(
    "deadbeef00000000000000000000000b",
    params={"n_estimators": "200", "min_samples_leaf": "2"},
    tags={"mlbot.sha": "fedcba0987654321", "mlbot.eval_sha256": "e" * 64},
    version="3",
    experiment_id="1",
)


_METHODS = {"roc_auc": DELONG, "accuracy": MULTINOMIAL, "f1": MULTINOMIAL}


def metric(name: str, cand: float, prod: float | None, ci: tuple[float, float] | None,
           higher: bool = True) -> MetricComparison:
    se = None if ci is None else (ci[1] - ci[0]) / (2 * 1.959964)  # as a normal interval would have it
    return MetricComparison(name, higher, cand, prod, {0.95: ci} if ci else {}, se=se,
                            method=_METHODS.get(name, BOOTSTRAP) if ci else "")


def comparison(*metrics: MetricComparison, first: bool = False, **overrides: Any) -> Comparison:
    """A comparison with sensible data/params/slices around the given metrics."""
    data = DataDiff(
        rows={"eval": (114, 114), "train": (455, 455)},
        columns=(ColumnDiff("mean radius", "float64", "float64", 0.0, 0.0, 0.031),
                 ColumnDiff("region", "object", "object", 0.0, 0.01, 0.002)),
    )
    fields: dict[str, Any] = {
        "model": "breast-cancer", "candidate": CANDIDATE, "production": None if first else PRODUCTION,
        "metrics": tuple(metrics), "rows": 114, "resamples": 2000, "seed": 0,
        "params": ParamsDiff() if first else ParamsDiff(
            added={"max_depth": "8"}, removed={"min_samples_leaf": "2"},
            changed={"n_estimators": ("200", "300")}),
        "data": None if first else data,
        "eval_set_same": None if first else True,
        "flips": None if first else Flips(3, 5, 114, ("17", "42", "88")),
        "slices": () if first else (
            SliceComparison("region", "north", 64, (metric("accuracy", 0.95, 0.94, (-0.01, 0.03)),)),
            SliceComparison("region", "south", 50, (metric("accuracy", 0.93, 0.94, (-0.05, 0.02)),)),
        ),
    }
    fields.update(overrides)
    return Comparison(**fields)


def predictions(rows: int = 2000, seed: int = 0, *, production: bool = True,
                gap: float = 0.05) -> PredictionTable:
    """A binary predictions table in the logged format; the candidate is better by about `gap`."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    frame: dict[str, Any] = {"row_id": np.arange(rows), "truth": y}
    noise = rng.random(rows)
    for prefix, signal in (("candidate", 0.3 + gap), ("production", 0.3)):
        if prefix == "production" and not production:
            continue
        p = np.clip(y * signal + rng.random(rows) * (1 - signal), 0, 1)
        frame[f"{prefix}_pred"] = (p > 0.5).astype(int)
        frame[f"{prefix}_proba.0"] = 1 - p
        frame[f"{prefix}_proba.1"] = p
    frame["slice.region"] = np.where(noise < 0.6, "north", np.where(noise < 0.98, "south", "east"))
    return PredictionTable(frame)
