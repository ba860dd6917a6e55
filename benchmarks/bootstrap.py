"""Benchmark: paired intervals per metric, old path (bootstrap everywhere) against new (exact/fast per metric).

For both score kinds — scores rounded to 3 decimals (about 1,000 distinct values, many ties) and
continuous scores (every row distinct, as logistic regression or boosting give) — it prints, per
metric, the time and 95% CI of Δ by the old path (the vectorised paired bootstrap, ROC-AUC by
weighted counts per distinct score) and by the new one (ROC-AUC by DeLong, label metrics by the
multinomial bootstrap over exact counts, mean-like metrics by the index bootstrap), then the full
`compare_runs` on roc_auc + accuracy + f1 both ways. Acceptance (issue 15): the full comparison on
100,000 continuous rows in under 1 s, intervals within the tolerance stated in
tests/analysis/test_delong.py. Run: .venv/bin/python benchmarks/bootstrap.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bot.core.judge.bootstrap import EvalData, Scored, paired_deltas, percentile_ci
from bot.core.judge.compare import RunView, compare_runs
from bot.core.judge.intervals import Method, paired_intervals
from bot.core.judge.metrics import metrics_for
from bot.core.judge.table import PredictionTable

ACCEPTANCE = ["roc_auc", "accuracy", "f1"]
BOUND_TOLERANCE = 0.06  # of the bootstrap interval's width, as in tests/analysis/test_delong.py


def synthetic(rows: int, continuous: bool, seed: int = 0) -> tuple[EvalData, PredictionTable]:
    """A binary problem where the candidate separates the classes slightly better."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, rows)
    columns: dict[str, Any] = {"row_id": np.arange(rows), "truth": y}
    scored = {}
    for prefix, signal in (("candidate", 0.32), ("production", 0.30)):
        p = np.clip(y * signal + rng.random(rows) * (1 - signal), 0, 1)
        p = p if continuous else p.round(3)
        scored[prefix] = Scored((p > 0.5).astype(np.int64), np.column_stack([1 - p, p]))
        columns.update({f"{prefix}_pred": scored[prefix].pred, f"{prefix}_proba.0": 1 - p, f"{prefix}_proba.1": p})
    return EvalData(y, scored["candidate"], scored["production"], ("0", "1")), PredictionTable(columns)


def regression(rows: int, seed: int = 0) -> EvalData:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=rows) + 5
    return EvalData(y, Scored(y + rng.normal(size=rows) * 0.5), Scored(y + rng.normal(size=rows) * 0.55))


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


def per_metric(data: EvalData, names: list[str], resamples: int) -> None:
    print(f"  {'metric':<18}{'old s':>8}{'new s':>8}  {'old 95% CI of Δ':<22}{'new 95% CI of Δ':<22}new method")
    for name in names:
        old_s, draws = timed(lambda n=name: paired_deltas(data, [n], resamples=resamples, seed=0)[n])
        new_s, found = timed(lambda n=name: paired_intervals(data, [n], [0.95], resamples=resamples, seed=0)[n])
        (lo, hi), (n_lo, n_hi) = percentile_ci(draws, 0.95), found.cis[0.95]
        agree = max(abs(n_lo - lo), abs(n_hi - hi)) <= BOUND_TOLERANCE * (hi - lo) + 1e-12
        print(f"  {name:<18}{old_s:8.3f}{new_s:8.3f}  [{lo:+.4f}, {hi:+.4f}]      [{n_lo:+.4f}, {n_hi:+.4f}]      "
              f"{found.method}{'' if agree else '  (outside tolerance)'}")


def full(table: PredictionTable, resamples: int, method: Method) -> float:
    run = RunView("c", tags={"mlbot.eval_sha256": "e"})
    prod = RunView("p", tags={"mlbot.eval_sha256": "e"}, version="1")
    seconds, _ = timed(lambda: compare_runs(run, prod, table, model="m", metrics=ACCEPTANCE, resamples=resamples,
                                            interval_method=method))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=2_000)
    args = parser.parse_args()
    classification = metrics_for("classification")
    print(f"paired intervals, {args.resamples} resamples, {args.rows:,} eval rows; times in seconds")
    verdicts = []
    for continuous in (False, True):
        kind = "continuous scores" if continuous else "scores rounded to 3 decimals"
        data, table = synthetic(args.rows, continuous)
        print(f"\n{kind}: every classification metric separately")
        per_metric(data, classification, args.resamples)
        old, new = full(table, args.resamples, "bootstrap"), full(table, args.resamples, "auto")
        print(f"  full compare_runs({', '.join(ACCEPTANCE)}): old {old:.2f} s, new {new:.2f} s ({old / new:.0f}×)")
        verdicts.append((kind, new))
    print("\nregression (no score kinds): every regression metric separately")
    per_metric(regression(args.rows), metrics_for("regression"), args.resamples)
    kind, seconds = verdicts[-1]
    print(f"\nacceptance: full comparison of {', '.join(ACCEPTANCE)} on {args.rows:,} rows with {kind}: "
          f"{seconds:.2f} s — {'under' if seconds < 1 else 'NOT under'} 1 s")


if __name__ == "__main__":
    main()
