"""The verdict vocabulary shared by every gate, and the rules for intervals against a limit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Verdict = Literal["pass", "fail", "inconclusive", "skipped", "waived"]
Observed = float | int | str | None
NOISE = 1e-12  # values this close to zero are zero: float rounding, not a difference


def fmt(value: float) -> str:
    """A number for a reason line: four significant digits, float noise shown as 0."""
    return "0" if abs(value) < NOISE else f"{value:.4g}"


def within_limit(interval: tuple[float, float], limit: float, tolerance: float = NOISE) -> Verdict:
    """An upper limit judged on an interval: pass when all of it is ≤ limit, fail when all is above.

    A bound within `tolerance` of the limit counts as on it (≤ passes, so an upper bound exactly at
    the limit passes; a lower bound exactly at it does not fail).
    """
    lo, hi = interval
    if hi <= limit + tolerance:
        return "pass"
    if lo > limit + tolerance:
        return "fail"
    return "inconclusive"


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The combined verdict of several limits in one gate: any fail, else any inconclusive, else pass."""
    seen = set(verdicts)
    return next((v for v in ("fail", "inconclusive") if v in seen), "pass")
