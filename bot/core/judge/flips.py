"""Negative flips: eval rows production got right that the candidate gets wrong.

A better average can still break cases that used to work (Yan et al., "Positive-congruent
training", CVPR 2021), so every report with a production model counts them, shows a few row ids,
and a gate can bound their rate (`max_negative_flip_rate`), judged on a Wilson interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from bot.core.judge.verdict import Observed, Verdict, fmt, within_limit

EXAMPLES = 5  # row ids shown in the report


@dataclass(frozen=True)
class Flips:
    """How many rows changed from right to wrong (negative) and from wrong to right (positive)."""

    negative: int
    positive: int
    rows: int
    examples: tuple[str, ...] = ()  # ids of the first negative flips, in eval order

    @property
    def negative_rate(self) -> float:
        return self.negative / self.rows if self.rows else 0.0


def count_flips(truth: NDArray[np.int64], candidate: NDArray[np.int64], production: NDArray[np.int64],
                row_ids: NDArray[np.object_] | None = None) -> Flips:
    """Count the flips between two label predictions on the same rows."""
    cand_right, prod_right = candidate == truth, production == truth
    negative = np.flatnonzero(prod_right & ~cand_right)
    ids = negative[:EXAMPLES] if row_ids is None else row_ids[negative[:EXAMPLES]]
    return Flips(len(negative), int(np.sum(cand_right & ~prod_right)), len(truth),
                 tuple(str(i) for i in ids.tolist()))


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sensible at 0 and at small counts)."""
    if trials == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def flip_gate(flips: Flips | None, limit: float, confidence: float = 0.95) -> tuple[Verdict, Observed, Observed, str]:
    """Judge the negative-flip rate against `limit` on its Wilson interval."""
    if flips is None:
        return "inconclusive", None, limit, "negative flips are only counted for classification"
    lo, hi = wilson(flips.negative, flips.rows, confidence)
    verdict = within_limit((lo, hi), limit)
    words = {"pass": "within", "fail": "above", "inconclusive": "may be above"}[verdict]
    reason = (f"{flips.negative} of {flips.rows} rows production got right are now wrong "
              f"({fmt(flips.negative_rate * 100)}%, {confidence:.0%} CI {fmt(lo * 100)}–{fmt(hi * 100)}%): "
              f"{words} the limit {fmt(limit * 100)}%")
    return verdict, flips.negative_rate, limit, reason
