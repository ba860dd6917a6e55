"""The `model:` gate: size, absolute p95 latency (on its CI) and latency relative to production.

`mlbot train` logs `predict_p95_ms` with `predict_p95_ms_ci_low/high`, and, when production was
timed in the same process, `latency_ratio` (candidate p95 / production p95) with its paired CI
(`bot/training/latency.py`). A limit is judged on the interval when it was logged: pass when all
of it is within the limit, fail when all of it is over, inconclusive when it straddles. Runs logged
before intervals existed are judged on the point value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.judge.verdict import Observed, Verdict, fmt, within_limit, worst
from bot.core.policy import ModelRule

LATENCY_KEYS = ("predict_p95_ms", "predict_p95_ms_ci_low", "predict_p95_ms_ci_high",
                "latency_ratio", "latency_ratio_ci_low", "latency_ratio_ci_high")


@dataclass(frozen=True)
class _Limit:
    label: str
    key: str
    limit: float
    unit: str
    prefix: str = ""  # "×" for ratios

    def show(self, value: float) -> str:
        return f"{self.prefix}{fmt(value)}{' ' + self.unit if self.unit else ''}"


def _judge(limit: _Limit, facts: Mapping[str, float]) -> tuple[Verdict, str, str]:
    """One limit: its verdict, the observed text and the reason part."""
    if limit.key not in facts:
        return "inconclusive", f"{limit.label} unknown", f"{limit.label} not measured for the candidate"
    value = facts[limit.key]
    lo, hi = facts.get(f"{limit.key}_ci_low"), facts.get(f"{limit.key}_ci_high")
    if lo is None or hi is None:
        verdict: Verdict = "pass" if value <= limit.limit else "fail"
        sign = "≤" if verdict == "pass" else ">"
        return verdict, limit.show(value), f"{limit.label} {limit.show(value)} {sign} {limit.show(limit.limit)}"
    verdict = within_limit((lo, hi), limit.limit)
    sign = {"pass": "≤", "fail": ">", "inconclusive": "may exceed"}[verdict]
    interval = f"{limit.prefix}{fmt(lo)}–{fmt(hi)}"
    observed = f"{limit.show(value)} [{interval}]"
    return verdict, observed, f"{limit.label} {limit.show(value)} (95% CI {interval}) {sign} {limit.show(limit.limit)}"


def model_gate(rule: ModelRule, facts: Mapping[str, float], *, has_production: bool
               ) -> tuple[Verdict, Observed, Observed, str]:
    """The verdict of a `model:` gate over the candidate run's logged measurements."""
    limits = [_Limit(label, key, value, unit, prefix) for label, key, value, unit, prefix in (
        ("size", "model_size_mb", rule.max_size_mb, "MB", ""),
        ("p95 latency", "predict_p95_ms", rule.max_p95_latency_ms, "ms", ""),
        ("latency vs production", "latency_ratio", rule.max_latency_ratio, "", "×"),
    ) if value is not None]
    judged, notes = [], []
    for limit in limits:
        if limit.key == "latency_ratio" and not has_production:
            notes.append("latency vs production: no production model yet")
            continue
        judged.append((limit, *_judge(limit, facts)))
    verdict = worst(v for _, v, _, _ in judged) if judged else "skipped"
    observed = ", ".join(o for _, _, o, _ in judged) or None
    threshold = ", ".join(f"≤ {lim.show(lim.limit)}" for lim, *_ in judged) or None
    shown = [part for _, v, _, part in judged if verdict == "pass" or v == verdict]
    return verdict, observed, threshold, "; ".join(shown + notes)
