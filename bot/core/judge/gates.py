"""Evaluate a policy against a comparison into explainable verdicts.

Every verdict carries the observed value, the threshold and a one-line reason. Relative gates
(vs_production, slices, eval_set, data) are skipped before the first promotion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.core.judge.advice import inconclusive_advice
from bot.core.judge.compare import Comparison, MetricComparison
from bot.core.judge.flips import flip_gate
from bot.core.judge.metrics import higher_is_better
from bot.core.judge.model_gate import model_gate
from bot.core.judge.verdict import NOISE, Observed, Verdict, fmt
from bot.core.policy import PRIMARY, Gate, PolicySet

__all__ = ["Evaluation", "GateContext", "GateResult", "Observed", "Verdict", "decide", "evaluate", "evaluate_gate"]
WAIVE_ALL = "*"  # a waiver key that waives every gate (`/promote --force`)
_OK_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})


@dataclass(frozen=True)
class GateContext:
    """Facts from GitHub for review and checks gates."""

    approvals: Sequence[str] = ()  # logins whose latest review approves
    author: str | None = None
    check_conclusions: Mapping[str, str | None] = field(default_factory=dict)  # name -> conclusion


@dataclass(frozen=True)
class GateResult:
    """The verdict of one gate."""

    name: str
    kind: str
    verdict: Verdict
    severity: Literal["block", "warn"]
    observed: Observed
    threshold: Observed
    reason: str
    metric: str | None = None
    inconclusive_blocks: bool = True
    details: tuple[str, ...] = ()  # e.g. one line per slice

    @property
    def blocking(self) -> bool:
        """Whether this verdict stops a promotion."""
        if self.severity != "block":
            return False
        return self.verdict == "fail" or (self.verdict == "inconclusive" and self.inconclusive_blocks)


@dataclass(frozen=True)
class Evaluation:
    results: tuple[GateResult, ...]

    @property
    def promotable(self) -> bool:
        return not any(r.blocking for r in self.results)

    @property
    def blocking(self) -> list[GateResult]:
        return [r for r in self.results if r.blocking]

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict == verdict)




def decide(
    ci: tuple[float, float], higher_is_better: bool, *, max_drop: float | None = None,
    min_gain: float | None = None, tolerance: float = NOISE,
) -> Verdict:
    """Non-inferiority (`max_drop`) or superiority (`min_gain`) on the CI of candidate − production.

    On the gain scale (positive is better): non-inferiority passes only when the worse end is above
    −max_drop, so a bound exactly at −max_drop is not a pass; superiority passes when the worse end
    is at least min_gain. A bound within `tolerance` of the margin (below the metric's resolution,
    e.g. 1/rows for accuracy) is exactly on it, whatever the order of the float operations.
    """
    lo, hi = ci if higher_is_better else (-ci[1], -ci[0])  # as gains: positive is better
    if max_drop is not None:
        margin = -max_drop
        return "pass" if lo > margin + tolerance else "fail" if hi < margin - tolerance else "inconclusive"
    assert min_gain is not None
    return "pass" if lo >= min_gain - tolerance else "fail" if hi < min_gain - tolerance else "inconclusive"


def _signed(margin: float, higher_is_better: bool) -> float:
    """A margin on the gain scale expressed on the raw delta scale."""
    return margin if higher_is_better else -margin


def _relative(gate: Gate, m: MetricComparison, confidence: float, max_drop: float | None,
              min_gain: float | None, rows: int | None = None) -> tuple[Verdict, Observed, Observed, str]:
    """Judge Δ against the margin; with `rows`, an inconclusive reason says what would decide it."""
    ci = m.ci(confidence)
    if m.delta is None or ci is None:
        return "inconclusive", None, None, f"no paired interval for {m.name}; cannot compare"
    verdict = decide(ci, m.higher_is_better, max_drop=max_drop, min_gain=min_gain, tolerance=m.tie_tolerance)
    margin = -max_drop if max_drop is not None else min_gain
    assert margin is not None
    threshold = _signed(margin, m.higher_is_better)
    direction = "higher" if m.higher_is_better else "lower"
    interval = f"Δ {fmt(m.delta)}, {confidence:.0%} CI [{fmt(ci[0])}, {fmt(ci[1])}]"
    if max_drop is not None:
        meaning = {"pass": "not worse than", "fail": "worse than", "inconclusive": "may be worse than"}
        by = f"by more than {fmt(max_drop)}"
    else:
        meaning = {"pass": "better than", "fail": "not better than",
                   "inconclusive": "not clearly better than"}
        by = f"by {fmt(min_gain or 0.0)}"
    reason = f"{interval}: {meaning[verdict]} production {by} ({direction} is better)"
    if verdict == "inconclusive" and rows:
        sign = 1.0 if m.higher_is_better else -1.0
        lo_gain = min(sign * ci[0], sign * ci[1])
        reason += "; " + inconclusive_advice(rows=rows, gain=sign * m.delta, lo_gain=lo_gain,
                                             margin_gain=margin, se=m.se, confidence=confidence)
    return verdict, m.delta, threshold, reason


def _metric_name(gate: Gate, comparison: Comparison) -> str:
    return (comparison.primary or PRIMARY) if gate.metric == PRIMARY else (gate.metric or "")


def _threshold(gate: Gate, comparison: Comparison, name: str) -> tuple[Verdict, Observed, Observed, str]:
    m = comparison.metric(name)
    value = m.candidate if m else comparison.candidate.metrics.get(name)
    bound = gate.min if gate.min is not None else gate.max
    if value is None or value != value:  # missing or NaN
        return "inconclusive", None, bound, f"{name} was not measured for the candidate"
    tolerance = m.tie_tolerance if m else NOISE  # a value on the floor or ceiling is within it
    if gate.min is not None and value < gate.min - tolerance:
        return "fail", value, gate.min, f"{name} {fmt(value)} is below the floor {fmt(gate.min)}"
    if gate.max is not None and value > gate.max + tolerance:
        return "fail", value, gate.max, f"{name} {fmt(value)} is above the ceiling {fmt(gate.max)}"
    limits = " and ".join(f"{w} {fmt(v)}" for w, v in (("≥", gate.min), ("≤", gate.max)) if v is not None)
    return "pass", value, bound, f"{name} {fmt(value)} is {limits}"


def _slices(
    gate: Gate, comparison: Comparison, name: str
) -> tuple[Verdict, Observed, Observed, str, tuple[str, ...]]:
    rule = gate.slices
    assert rule is not None
    parts = comparison.slices_of(rule.column)
    if not parts:
        return "inconclusive", None, None, f"no slices of {rule.column!r} were logged", ()
    lines, verdicts = [], []
    worst: tuple[float, float] | None = None  # (gain, raw delta) of the worst evaluated slice
    for s in parts:
        m = s.metric(name)
        if s.rows < rule.min_rows:
            lines.append(f"{rule.column}={s.value}: skipped, {s.rows} rows < min_rows {rule.min_rows}")
            continue
        if m is None:
            continue
        verdict, delta, _, reason = _relative(gate, m, rule.confidence, rule.max_drop, None, s.rows)
        verdicts.append(verdict)
        lines.append(f"{rule.column}={s.value} ({s.rows} rows): {verdict}, {reason}")
        if isinstance(delta, float):
            gain = delta if m.higher_is_better else -delta
            worst = (gain, delta) if worst is None or gain < worst[0] else worst
    threshold = _signed(-rule.max_drop, higher_is_better(name))
    if not verdicts:
        why = f"every slice of {rule.column} has fewer than {rule.min_rows} rows"
        return "skipped", None, threshold, why, tuple(lines)
    overall: Verdict = next((v for v in ("fail", "inconclusive") if v in verdicts), "pass")
    count = {v: verdicts.count(v) for v in ("pass", "fail", "inconclusive")}
    reason = (f"{name} per {rule.column}: {count['pass']} pass, {count['fail']} fail, "
              f"{count['inconclusive']} inconclusive, {len(parts) - len(verdicts)} skipped "
              f"(max drop {fmt(rule.max_drop)})")
    return overall, worst[1] if worst else None, threshold, reason, tuple(lines)


def _data(gate: Gate, comparison: Comparison) -> tuple[Verdict, Observed, Observed, str]:
    rule, diff = gate.data, comparison.data
    assert rule is not None
    if diff is None:
        return "inconclusive", None, None, "no data profile to compare with production's"
    if rule.schema_ is not None:
        changes = diff.schema_changes
        if not changes:
            return "pass", "unchanged", "unchanged", "same columns and dtypes as production"
        shown = "; ".join(changes[:5]) + (f"; … {len(changes) - 5} more" if len(changes) > 5 else "")
        return "fail", f"{len(changes)} changes", "unchanged", f"schema changed: {shown}"
    top = diff.max_psi
    assert rule.max_psi is not None
    if top is None or top.psi is None:
        return "inconclusive", None, rule.max_psi, "no feature could be compared for drift"
    over = [c for c in diff.columns if c.psi is not None and c.psi > rule.max_psi]
    if over:
        why = (f"{len(over)} feature(s) drifted past PSI {fmt(rule.max_psi)}; "
               f"worst {top.name} at {fmt(top.psi)}")
        return "fail", top.psi, rule.max_psi, why
    why = f"highest PSI {fmt(top.psi)} ({top.name}) is within {fmt(rule.max_psi)}"
    return "pass", top.psi, rule.max_psi, why


def _review(gate: Gate, context: GateContext) -> tuple[Verdict, Observed, Observed, str]:
    rule = gate.review
    assert rule is not None
    author = (context.author or "").lower()
    approvers = sorted({a for a in context.approvals if not (rule.exclude_author and a.lower() == author)})
    n = len(approvers)
    verdict: Verdict = "pass" if n >= rule.min_approvals else "fail"
    who = f" ({', '.join(approvers)})" if approvers else ""
    extra = "" if not rule.exclude_author else ", author's own excluded"
    why = f"{n} approval(s){who}, need {rule.min_approvals}{extra}"
    return verdict, n, rule.min_approvals, why


def _checks(gate: Gate, context: GateContext) -> tuple[Verdict, Observed, Observed, str]:
    rule = gate.checks
    assert rule is not None
    failed = [n for n in rule.required if context.check_conclusions.get(n) not in (*_OK_CONCLUSIONS, None)
              and n in context.check_conclusions]
    pending = [n for n in rule.required if context.check_conclusions.get(n) is None]
    threshold = ", ".join(rule.required)
    if failed:
        states = ", ".join(f"{n}: {context.check_conclusions[n]}" for n in failed)
        return "fail", states, threshold, f"required checks not green: {states}"
    if pending:
        why = f"not finished or not reported: {', '.join(pending)}"
        return "inconclusive", f"{len(pending)} pending", threshold, why
    return "pass", "all green", threshold, "every required check succeeded"


def _eval_set(same: bool | None) -> tuple[Verdict, Observed, Observed, str]:
    if same:
        return "pass", "same", "unchanged", "candidate and production were scored on the same eval rows"
    if same is False:
        return "fail", "changed", "unchanged", ("the eval rows differ from production's run "
                                                "(mlbot.eval_sha256); the metrics are not comparable")
    return "inconclusive", None, "unchanged", "an eval-set hash (mlbot.eval_sha256) is missing on a run"


def evaluate_gate(gate: Gate, comparison: Comparison, context: GateContext | None) -> GateResult:
    """The verdict of one gate (waivers are applied by `evaluate`)."""
    name = _metric_name(gate, comparison)
    details: tuple[str, ...] = ()
    kind = gate.kind
    out: tuple[Verdict, Observed, Observed, str]
    if gate.relative and comparison.first_promotion:
        out = ("skipped", None, None, "no production model yet (first promotion)")
    elif kind == "threshold":
        out = _threshold(gate, comparison, name)
    elif kind == "vs_production":
        rule = gate.vs_production
        assert rule is not None
        m = comparison.metric(name)
        out = (_relative(gate, m, rule.confidence, rule.max_drop, rule.min_gain, comparison.rows) if m
               else ("inconclusive", None, None, f"{name} was not compared; add it to metrics in mlbot.yaml"))
    elif kind == "slices":
        *head, details = _slices(gate, comparison, name)
        out = (head[0], head[1], head[2], head[3])  # type: ignore[assignment]
    elif kind == "eval_set":
        out = _eval_set(comparison.eval_set_same)
    elif kind == "data":
        out = _data(gate, comparison)
    elif kind == "model":
        assert gate.model is not None
        out = model_gate(gate.model, comparison.candidate.metrics, has_production=not comparison.first_promotion)
    elif kind == "negative_flips":
        assert gate.max_negative_flip_rate is not None
        out = flip_gate(comparison.flips, gate.max_negative_flip_rate)
    elif context is None:
        out = ("skipped", None, None, "no pull-request facts (approvals, checks) in this evaluation")
    else:
        out = _review(gate, context) if kind == "review" else _checks(gate, context)
    verdict, observed, threshold, reason = out
    return GateResult(gate.name, kind, verdict, gate.severity, observed, threshold, reason,
                      metric=name or None, inconclusive_blocks=gate.inconclusive == "block", details=details)


def evaluate(
    policy: PolicySet, comparison: Comparison, context: GateContext | None = None,
    waivers: Mapping[str, str] | None = None,
) -> Evaluation:
    """Evaluate every gate; a waived gate that did not pass becomes `waived` with the waiver's reason."""
    waivers = waivers or {}
    results = []
    for gate in policy.gates:
        result = evaluate_gate(gate, comparison, context)
        why = waivers.get(gate.name, waivers.get(WAIVE_ALL))
        if why is not None and result.verdict in ("fail", "inconclusive"):
            reason = f"waived: {why} (was {result.verdict}: {result.reason})"
            result = replace(result, verdict="waived", reason=reason)
        results.append(result)
    return Evaluation(tuple(results))
