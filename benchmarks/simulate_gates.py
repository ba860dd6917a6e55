"""Simulation: how often a non-inferiority gate promotes when the true Δ is known.

A gate `vs_production: {max_drop: M}` on n = 500 eval rows, for accuracy (paired multinomial
bootstrap over exact counts) and ROC-AUC (DeLong), with independent and with correlated model
errors. The true Δ (candidate − production) is set to −M (exactly at the margin: promoting is
a wrong decision, the rule should allow it at most 2.5% of the time, acceptance ≤ 5%), 0 and +2·M
(a clearly better model: acceptance ≥ 80%). Beside it, a point-estimate rule ("observed Δ > −M",
what a fixed metric threshold does), and "theory": the P(promote) any 2.5%-level test reaches at that
Δ with the observed standard error — where that is below 80%, the eval set, not the rule, is short.
Run: .venv/bin/python benchmarks/simulate_gates.py
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from bot.core.judge.bootstrap import EvalData, Scored
from bot.core.judge.gates import decide
from bot.core.judge.intervals import paired_intervals, tie_tolerance

MARGIN = 0.02
Draw = Callable[[np.random.Generator], EvalData]


def accuracy_case(n: int, delta: float, correlated: bool, base: float = 0.85) -> Draw:
    """Right/wrong per row for both models; correlated: they disagree on only 8% of rows."""
    cand = base + delta
    if correlated:
        disagree = 0.08
        p10, p01 = (disagree + delta) / 2, (disagree - delta) / 2  # candidate-only right, production-only
        p11 = base - p01
    else:
        p10, p01, p11 = cand * (1 - base), base * (1 - cand), cand * base
    cells = np.array([p11, p10, p01, 1 - p11 - p10 - p01])

    def draw(rng: np.random.Generator) -> EvalData:
        cell = rng.choice(4, size=n, p=cells)
        y = np.ones(n, dtype=np.int64)
        cand_right, prod_right = np.isin(cell, (0, 1)), np.isin(cell, (0, 2))
        return EvalData(y, Scored(cand_right.astype(np.int64)), Scored(prod_right.astype(np.int64)), ("0", "1"))

    return draw


def auc_case(n: int, delta: float, correlated: bool, base: float = 0.85) -> Draw:
    """Binormal scores: AUC = Φ(μ/√2); the models' noise shares 80% (correlated) or nothing."""
    shift = {name: math.sqrt(2) * NormalDist().inv_cdf(a) for name, a in (("c", base + delta), ("p", base))}
    rho = 0.8 if correlated else 0.0

    def draw(rng: np.random.Generator) -> EvalData:
        y = (rng.random(n) < 0.5).astype(np.int64)
        shared = rng.normal(size=n)
        scored = {}
        for name in ("c", "p"):
            s = shift[name] * y + rho * shared + math.sqrt(1 - rho**2) * rng.normal(size=n)
            p = 1 / (1 + np.exp(-s))
            scored[name] = Scored((p > 0.5).astype(np.int64), np.column_stack([1 - p, p]))
        return EvalData(y, scored["c"], scored["p"], ("0", "1"))

    return draw


def run(metric: str, draw: Draw, trials: int, resamples: int, seed: int) -> tuple[float, float, float, float]:
    """Shares of trials the gate promotes, is inconclusive, the point rule promotes; mean standard error."""
    rng = np.random.default_rng(seed)
    promoted = inconclusive = point = 0
    se_sum = 0.0
    for trial in range(trials):
        data = draw(rng)
        found = paired_intervals(data, [metric], [0.95], resamples=resamples, seed=trial)[metric]
        lo, hi = found.cis[0.95]
        verdict = decide((lo, hi), True, max_drop=MARGIN, tolerance=tie_tolerance(metric, data.rows))
        promoted += verdict == "pass"
        inconclusive += verdict == "inconclusive"
        estimate = (lo + hi) / 2 if found.samples is None else float(np.median(found.samples))
        point += estimate > -MARGIN
        se_sum += found.se or 0.0
    return promoted / trials, inconclusive / trials, point / trials, se_sum / trials


def theory(delta: float, se: float) -> float:
    """P(promote) a 2.5%-level one-sided test can reach at this Δ and standard error (normal theory)."""
    return NormalDist().cdf((delta + MARGIN) / se - NormalDist().inv_cdf(0.975)) if se > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=2000)  # as the gates use
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"non-inferiority gate, max_drop {MARGIN}, {args.rows} eval rows, {args.trials} trials per line "
          f"(± is one Monte Carlo standard error)\n")
    print(f"{'metric':<9}{'errors':<12}{'true Δ':>8}{'P(promote)':>14}{'P(inconcl.)':>13}{'point rule':>12}"
          f"{'theory':>8}  check")
    ok = True
    for metric, case in (("accuracy", accuracy_case), ("roc_auc", auc_case)):
        for correlated in (False, True):
            for delta in (-MARGIN, 0.0, 2 * MARGIN):
                share, unsure, point, mean_se = run(metric, case(args.rows, delta, correlated), args.trials,
                                           args.resamples, seed=1)
                se = math.sqrt(max(share * (1 - share), 1e-12) / args.trials)
                check = "≤ 5%" if delta == -MARGIN else "≥ 80%" if delta > 0 else ""
                good = share <= 0.05 if delta == -MARGIN else share >= 0.80 if delta > 0 else True
                ok &= good
                print(f"{metric:<9}{'correlated' if correlated else 'independent':<12}{delta:>+8.2f}"
                      f"{share:>9.1%} ±{se:.1%}{unsure:>12.1%}{point:>12.1%}{theory(delta, mean_se):>8.1%}  "
                      f"{check + (' ok' if good else ' NOT MET') if check else ''}")
    print(f"\n{'all checks met' if ok else 'some checks NOT met'}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
