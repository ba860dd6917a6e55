"""Watch gates judged on one production window: drift and quality limits, metrics vs the reference.

Verdicts are the gates' own (pass / fail / inconclusive / skipped, with severity and a reason).
A `vs_reference` gate compares the metric on a labelled window with production's evaluation at
promotion: the rows differ, so the interval of window − reference is unpaired — each side's
standard error from its own bootstrap (on at most `SE_ROWS` rows, scaled by √(rows used / rows)),
combined as independent, and judged like `vs_production` (non-inferiority with `max_drop`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from bot.core.judge.drift import DriftReport
from bot.core.judge.gates import Evaluation, GateResult, decide
from bot.core.judge.metrics import Array, Prediction, higher_is_better, score
from bot.core.judge.verdict import Observed, Verdict, fmt, worst
from bot.core.policy import PRIMARY, Gate, PolicySet, parse_policy
from bot.core.policy_watch import WatchRule

RESAMPLES = 300
SE_ROWS = 20_000
SHOWN = 5  # drifted columns named in a reason
DEFAULT_WATCH_POLICY = """\
gates:
  - name: no feature drifted
    watch: {max_drift_share: 0}
  - name: same columns as in training
    watch: {schema: unchanged}
  - name: primary metric holds on labelled windows
    metric: primary
    vs_reference: {max_drop: 0.02, confidence: 0.95}
  - name: predictions are stable
    watch: {prediction: stable}
    severity: warn
"""
Outcome = tuple[Verdict, Observed, Observed, str]


@dataclass(frozen=True)
class MetricShift:
    """A metric on the window against production's evaluation at promotion, with CIs of the change."""

    name: str
    window: float
    reference: float
    rows: int
    cis: Mapping[float, tuple[float, float]]

    @property
    def delta(self) -> float:
        return self.window - self.reference


def _standard_error(name: str, y: Array, pred: Prediction, rng: np.random.Generator) -> float | None:
    rows = len(y)
    used = min(rows, SE_ROWS)
    values = []
    for _ in range(RESAMPLES):
        idx = rng.integers(0, rows, size=used)
        part = Prediction(pred.y_pred[idx], None if pred.proba is None else pred.proba[idx], pred.classes)
        try:
            values.append(score(name, y[idx], part))
        except ValueError:  # e.g. one class only in this resample
            continue
    if len(values) < RESAMPLES // 2:
        return None
    return float(np.std(values, ddof=1)) * math.sqrt(used / rows)


def metric_shift(name: str, window: tuple[Array, Prediction], reference: tuple[Array, Prediction],
                 confidences: Sequence[float] = (0.95,), seed: int = 0) -> MetricShift | None:
    """The metric on both, and normal CIs of window − reference (None when it cannot be computed)."""
    try:
        now, then = score(name, *window), score(name, *reference)
    except ValueError:
        return None
    rng = np.random.default_rng(seed)
    se_now, se_then = _standard_error(name, *window, rng), _standard_error(name, *reference, rng)
    if se_now is None or se_then is None or not (math.isfinite(now) and math.isfinite(then)):
        return None
    se = math.hypot(se_now, se_then)
    delta = now - then
    cis = {c: (delta - NormalDist().inv_cdf((1 + c) / 2) * se, delta + NormalDist().inv_cdf((1 + c) / 2) * se)
           for c in confidences}
    return MetricShift(name, now, then, len(window[0]), cis)


def watch_gates(policy: PolicySet) -> list[Gate]:
    """The repository's watch gates, or mlbot's default ones when its policies have none."""
    if policy.watch_gates:
        return policy.watch_gates
    parsed, _ = parse_policy("mlbot default watch policy", DEFAULT_WATCH_POLICY)
    assert parsed is not None
    return parsed.gates


def confidence_levels(gates: Sequence[Gate]) -> list[float]:
    """Every confidence the vs_reference gates ask for."""
    return sorted({0.95, *(g.vs_reference.confidence for g in gates if g.vs_reference is not None)})


def _at_most(label: str, value: float | None, limit: float, what: str, percent: bool = True) -> Outcome:
    if value is None:
        return "inconclusive", None, limit, f"no {label} could be measured"
    show: Callable[[float], str] = (lambda v: f"{v:.1%}") if percent else fmt
    verdict: Verdict = "fail" if value > limit + 1e-12 else "pass"
    relation = "above" if verdict == "fail" else "within"
    return verdict, value, limit, f"{label} {show(value)}{what} is {relation} {show(limit)}"


def _limits(rule: WatchRule, report: DriftReport) -> list[Outcome]:
    q = report.quality
    out: list[Outcome] = []
    if rule.max_drift_share is not None:
        drifted = report.drifted
        names = ", ".join(c.name for c in drifted[:SHOWN]) + (" …" if len(drifted) > SHOWN else "")
        what = f" ({len(drifted)} of {len(report.columns)} features: {names})" if drifted else ""
        share = report.drift_share if report.columns else None
        out.append(_at_most("drift share", share, rule.max_drift_share, what))
    if rule.max_psi is not None:
        top = report.max_psi
        out.append(_at_most("highest PSI", top.psi if top else None, rule.max_psi,
                            f" ({top.name})" if top else "", percent=False))
    for limit, attribute, label in ((rule.max_missing_increase, "missing_increase", "missing-value increase"),
                                    (rule.max_out_of_range, "out_of_range", "share outside the training range"),
                                    (rule.max_unseen, "unseen", "share of unseen categories")):
        if limit is not None:
            found = q.worst(attribute)
            value = getattr(found, attribute) if found else 0.0
            out.append(_at_most(label, value, limit, f" ({found.name})" if found else ""))
    if rule.schema_ is not None:
        changes = q.schema_changes
        out.append(("fail", f"{len(changes)} changes", "unchanged", "schema changed: " + "; ".join(changes))
                   if changes else ("pass", "unchanged", "unchanged", "same feature columns as in training"))
    if rule.prediction is not None:
        if not report.predictions:
            out.append(("inconclusive", None, "stable", "no prediction could be compared"))
        else:
            moved = [c.describe() for c in report.predictions if c.drifted]
            out.append(("fail", len(moved), "stable", "predictions drifted: " + "; ".join(moved)) if moved
                       else ("pass", 0, "stable", "score and class distributions are stable"))
    return out


def _watch(rule: WatchRule, report: DriftReport) -> Outcome:
    outcomes = _limits(rule, report)
    verdict = worst(o[0] for o in outcomes)
    first = next(o for o in outcomes if o[0] == verdict)
    return verdict, first[1], first[2], "; ".join(o[3] for o in outcomes)


def _vs_reference(gate: Gate, name: str, shifts: Mapping[str, MetricShift] | None) -> Outcome:
    rule = gate.vs_reference
    assert rule is not None
    if shifts is None:
        return "skipped", None, None, "no labels in this window"
    shift = shifts.get(name)
    ci = shift.cis.get(rule.confidence) if shift else None
    if shift is None or ci is None:
        return "inconclusive", None, None, f"{name} could not be measured on the window's labels"
    better = higher_is_better(name)
    verdict = decide(ci, better, max_drop=rule.max_drop)
    meaning = {"pass": "not worse than", "fail": "worse than", "inconclusive": "may be worse than"}[verdict]
    reason = (f"{name} {fmt(shift.window)} on {shift.rows} labelled rows vs {fmt(shift.reference)} at promotion: "
              f"Δ {fmt(shift.delta)}, {rule.confidence:.0%} CI [{fmt(ci[0])}, {fmt(ci[1])}]: {meaning} "
              f"production's evaluation by more than {fmt(rule.max_drop)}")
    return verdict, shift.delta, -rule.max_drop if better else rule.max_drop, reason


def evaluate_watch(gates: Sequence[Gate], report: DriftReport, shifts: Mapping[str, MetricShift] | None,
                   primary: str) -> Evaluation:
    """Judge every watch gate on the window; `shifts` is None when the window has no labels."""
    results = []
    for gate in gates:
        name = primary if gate.metric == PRIMARY else (gate.metric or "")
        details: tuple[str, ...] = ()
        if gate.watch is not None:
            verdict, observed, threshold, reason = _watch(gate.watch, report)
            if gate.watch.max_drift_share is not None:
                details = tuple(c.describe() for c in report.drifted)
        else:
            verdict, observed, threshold, reason = _vs_reference(gate, name, shifts)
        results.append(GateResult(gate.name, gate.kind, verdict, gate.severity, observed, threshold, reason,
                                  metric=name or None, inconclusive_blocks=gate.inconclusive == "block",
                                  details=details))
    return Evaluation(tuple(results))
