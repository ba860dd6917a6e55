"""What one watch run found, as a value that crosses ports, and its renderings: JSON, text, the issue.

`WatchSummary` is built once from the drift report, the metric shifts and the verdicts
(`summarize`); the CLI prints it, the monitoring run stores it (`watch/report.json`), and the watch
use case renders the GitHub issue from it, with a Mermaid trend of the last windows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from bot.core import markers
from bot.core.judge.drift import DriftReport
from bot.core.judge.gates import Evaluation
from bot.core.judge.watch_gates import MetricShift
from bot.core.report import MARKS, escape_md, fmt_num

LISTED = 50  # items per section in the issue, which GitHub caps at 65,536 characters


def _chart_label(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", name)[:40]


@dataclass(frozen=True)
class TrendPoint:
    """One window in the trend: when, the drift share, and the primary metric if labelled."""

    label: str
    drift_share: float
    metric: float | None = None
    healthy: bool = True
    run_id: str = ""


@dataclass(frozen=True)
class GateLine:
    name: str
    verdict: str
    severity: str
    blocking: bool
    reason: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchSummary:
    """One judged window of `model`@`alias`, ready to print, store or post."""

    model: str
    alias: str
    version: str
    run_id: str
    source: str
    rows: int
    healthy: bool
    drift_share: float
    features: int
    drifted: tuple[str, ...]  # one phrase per drifted feature, most drifted first
    quality: tuple[str, ...]  # one phrase per data-quality finding
    predictions: tuple[str, ...]  # one phrase per drifted prediction distribution
    metrics: tuple[str, ...]  # one phrase per metric measured on labels
    gates: tuple[GateLine, ...]
    primary: str = ""
    primary_value: float | None = None
    notes: tuple[str, ...] = ()
    trend: tuple[TrendPoint, ...] = field(default_factory=tuple)  # oldest first, this window last
    run_url: str | None = None
    snoozed_until: float | None = None  # epoch seconds: a `/snooze` in force when this window was judged
    snoozed_by: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WatchSummary:
        """The summary `to_json` wrote (unknown keys, from a newer mlbot, are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["gates"] = tuple(GateLine(**{**g, "details": tuple(g.get("details") or ())})
                                for g in data.get("gates") or ())
        values["trend"] = tuple(TrendPoint(**p) for p in data.get("trend") or ())
        for name in ("drifted", "quality", "predictions", "metrics", "notes"):
            values[name] = tuple(data.get(name) or ())
        return cls(**values)


def _quality(report: DriftReport) -> list[str]:
    q = report.quality
    found = [f"schema: {change}" for change in q.schema_changes]
    for c in q.columns:
        if c.missing_increase > 0.01:
            found.append(f"{c.name}: missing values {c.missing_reference:.1%} → {c.missing_window:.1%}")
        if c.out_of_range > 0.01:
            found.append(f"{c.name}: {c.out_of_range:.1%} of values outside the training range")
        if c.unseen > 0:
            found.append(f"{c.name}: {c.unseen:.1%} unseen categories ({', '.join(c.unseen_examples)})")
    return found


def _metric(s: MetricShift) -> str:
    ci = s.cis.get(0.95) or next(iter(s.cis.values()))
    return (f"{s.name}: {fmt_num(s.window)} on {s.rows} labelled rows vs {fmt_num(s.reference)} at promotion "
            f"(Δ {fmt_num(s.delta, True)}, 95% CI [{fmt_num(ci[0], True)}, {fmt_num(ci[1], True)}])")


def summarize(model: str, alias: str, version: str, run_id: str, source: str, report: DriftReport,
              shifts: Mapping[str, MetricShift] | None, evaluation: Evaluation, primary: str,
              notes: Sequence[str] = ()) -> WatchSummary:
    """The summary of one window (trend and links are added by whoever knows them)."""
    gates = tuple(GateLine(r.name, r.verdict, r.severity, r.blocking, r.reason, r.details)
                  for r in evaluation.results)
    shift = (shifts or {}).get(primary)
    return WatchSummary(
        model, alias, version, run_id, source, report.rows, evaluation.promotable, report.drift_share,
        len(report.columns), tuple(c.describe() for c in report.drifted), tuple(_quality(report)),
        tuple(c.describe() for c in report.predictions if c.drifted),
        tuple(_metric(s) for s in (shifts or {}).values()), gates, primary,
        shift.window if shift else None, tuple(notes))


def render_text(s: WatchSummary) -> str:
    """The terminal report."""
    state = "healthy" if s.healthy else "NEEDS ATTENTION"
    lines = [f"{s.model}@{s.alias} (v{s.version}) on {s.rows} rows from {s.source}: {state}",
             f"  drift: {len(s.drifted)} of {s.features} features ({s.drift_share:.0%})"]
    lines += [f"    {d}" for d in s.drifted]
    sections = (("data quality", s.quality), ("prediction drift", s.predictions), ("metrics", s.metrics),
                ("notes", s.notes))
    for title, items in sections:
        if items:
            lines.append(f"  {title}:")
            lines += [f"    {item}" for item in items]
    lines.append("  gates:")
    for g in s.gates:
        lines.append(f"    {g.verdict.upper():<12} {g.name} ({g.severity}): {g.reason}")
    lines.append(f"  monitoring run {s.run_id}" + (f" {s.run_url}" if s.run_url else ""))
    return "\n".join(lines)


def issue_marker(model: str, alias: str) -> str:
    """The first line of the watch issue of `model`@`alias`."""
    return markers.write("watch", model=model, alias=alias)


SNOOZE_BANNER = "🔕 Snoozed until"


def when(seconds: float) -> str:
    """An instant as users read it: `2026-12-09 10:00 UTC`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def snooze_line(s: WatchSummary) -> str | None:
    """The banner (Markdown) of a snooze in force when the window was judged."""
    if s.snoozed_until is None:
        return None
    by = f" by {escape_md('@' + s.snoozed_by)}" if s.snoozed_by else ""  # a record, not a ping
    return (f"{SNOOZE_BANNER} {when(s.snoozed_until)}{by}: mlbot keeps judging windows and this issue up to "
            "date, but opens no new issue and does not fail the scheduled job. `/snooze off` ends it.")


def issue_title(s: WatchSummary) -> str:
    return f"mlbot watch: {s.model}@{s.alias} needs attention"


def trend_point(label: str, metrics: Mapping[str, float], healthy: bool, run_id: str) -> TrendPoint:
    """A trend point from a monitoring run's metrics (`watch.drift_share`, `watch.primary`)."""
    return TrendPoint(label, float(metrics.get("watch.drift_share", 0.0)), metrics.get("watch.primary"),
                      healthy, run_id)


def run_metrics(s: WatchSummary) -> dict[str, float]:
    """What a monitoring run logs as metrics, the trend's source."""
    out = {"watch.drift_share": s.drift_share, "watch.drifted": float(len(s.drifted)), "watch.rows": float(s.rows),
           "watch.healthy": 1.0 if s.healthy else 0.0, "watch.quality_findings": float(len(s.quality))}
    if s.primary_value is not None:
        out["watch.primary"] = s.primary_value
    return out


def _trend_chart(s: WatchSummary) -> list[str]:
    points = list(s.trend)
    if len(points) < 2:
        return []
    labels = ", ".join(f'"{_chart_label(p.label)}"' for p in points)
    lines = ["```mermaid", "xychart-beta", f'    title "{_chart_label(s.model)}: drift share per window"',
             f"    x-axis [{labels}]", '    y-axis "share of features drifted" 0 --> 1',
             f"    line [{', '.join(f'{p.drift_share:.3f}' for p in points)}]", "```"]
    with_metric = [p.metric for p in points if p.metric is not None]
    if len(with_metric) >= 2:
        values = ", ".join("0" if p.metric is None else f"{p.metric:.4f}" for p in points)
        lines += ["", "```mermaid", "xychart-beta", f'    title "{_chart_label(s.primary)} on labelled windows"',
                  f"    x-axis [{labels}]", f"    line [{values}]", "```"]
    return lines


def render_issue(s: WatchSummary, *, closing: str | None = None) -> str:
    """The watch issue's body: marker, state, what drifted and by how much, gates, trend, links."""
    link = f"[{s.run_id}]({s.run_url})" if s.run_url else f"`{s.run_id}`"
    state = closing or ("✅ the latest window is healthy" if s.healthy else "❌ a blocking watch gate fails")
    out = [issue_marker(s.model, s.alias), f"## {escape_md(s.model)}@{escape_md(s.alias)} (v{s.version})", "",
           f"{state}. Latest window: {s.rows} rows from {escape_md(s.source)}; monitoring run {link}.", ""]
    snoozed = snooze_line(s)
    out += [snoozed, ""] if snoozed else []
    out += ["### Gates", "", "| | gate | severity | reason |", "|---|---|---|---|"]
    out += [f"| {MARKS.get(g.verdict, g.verdict)} {g.verdict} | {escape_md(g.name)} | {g.severity} | "
            f"{escape_md(g.reason)} |" for g in s.gates]
    out += ["", f"### Drift: {len(s.drifted)} of {s.features} features ({s.drift_share:.0%})", ""]
    out += [f"- {escape_md(d)}" for d in s.drifted[:LISTED]] or ["No feature drifted."]
    out += [f"- … and {len(s.drifted) - LISTED} more"] if len(s.drifted) > LISTED else []
    for title, items in (("Data quality", s.quality), ("Prediction drift", s.predictions),
                         ("Metrics on labels", s.metrics), ("Notes", s.notes)):
        if items:
            out += ["", f"### {title}", ""] + [f"- {escape_md(item)}" for item in items[:LISTED]]
    chart = _trend_chart(s)
    if chart:
        out += ["", f"### Trend (last {len(s.trend)} windows)", "", *chart]
        out += ["", "Runs: " + ", ".join(f"`{p.run_id[:8]}`" for p in s.trend if p.run_id)]
    out += ["", "mlbot updates this issue on every watch run and closes it after enough healthy windows. "
            "Commands here: `/retrain` (refresh the training data and open a pull request), `/snooze 3d`, "
            "`/status`, `/help`."]
    return "\n".join(out) + "\n"
