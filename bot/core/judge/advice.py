"""What would decide an inconclusive comparison: the margin the data can rule out, and rows needed.

Both come from the interval and the standard error of the paired Δ already computed: the margin is
where the interval's worse end lies; the rows are those at which an interval around the observed Δ
would clear the margin with 80% power (the standard error shrinks with √rows, the effect does not).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from bot.core.judge.verdict import fmt

POWER = 0.8


def rows_to_decide(rows: int, se: float, distance: float, confidence: float, power: float = POWER) -> int | None:
    """Eval rows at which a Δ `distance` away from the margin is decided with `power`; None if never."""
    if rows <= 0 or se <= 0 or distance <= 0:
        return None
    normal = NormalDist()
    z = normal.inv_cdf(0.5 + confidence / 2.0) + normal.inv_cdf(power)
    return math.ceil(rows * (z * se / distance) ** 2)


def _about(n: int) -> str:
    """A count rounded to two significant digits, with thousands separators."""
    digits = max(len(str(n)) - 2, 0)
    return f"{round(n, -digits):,}"


def inconclusive_advice(*, rows: int, gain: float, lo_gain: float, margin_gain: float, se: float | None,
                        confidence: float) -> str:
    """One clause for an inconclusive gate; all values on the gain scale (positive is better)."""
    if lo_gain < 0:
        ruled = f"these {rows} rows rule out a drop larger than {fmt(-lo_gain)}"
    else:
        ruled = f"these {rows} rows show a gain of at least {fmt(lo_gain)}"
    if se is None:
        return ruled
    needed = rows_to_decide(rows, se, abs(gain - margin_gain), confidence)
    if needed is None:
        return f"{ruled}; at the observed Δ no number of rows would decide it"
    return f"{ruled}; about {_about(needed)} eval rows would decide it at the observed Δ ({POWER:.0%} power)"
