"""Render a comparison and its gate verdicts: GitHub Markdown, terminal text, and the JSON of SPEC §6.

Templates live in `bot/templates/`; every untrusted string goes through the `md` filter (Markdown)
or `plain` (terminal). The Markdown stays under GitHub's comment limit: long sections shrink
first, then a final guard cuts.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.core import markers
from bot.core.judge.compare import Comparison, MetricComparison
from bot.core.judge.flips import Flips
from bot.core.judge.gates import Evaluation, GateResult
from bot.core.judge.verdict import NOISE
from bot.core.types import COMMENT_LIMIT

_SAFE_LIMIT = COMMENT_LIMIT - 536  # room for GitHub counting a few characters differently
_SHRINK_STEPS = (50, 20, 5, 0)  # rows kept per long table, tried in turn until the comment fits
_ZWJ = "\u200d"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MARKS = {"pass": "✅", "fail": "❌", "inconclusive": "❔", "skipped": "⏭️", "waived": "🟡"}
COMMANDS = (
    ("/retrain [k=v …]", "train again, optionally with other params"),
    ("/report", "refresh this report"),
    ("/gates", "re-evaluate the gates"),
    ("/promote [--force --reason TEXT]", "promote now (maintainers)"),
    ("/rollback [vN] [--reason TEXT]", "move production back (maintainers)"),
    ("/help", "all commands"),
)


# Gates that wait on people or CI rather than judge the model: while only these block, the PR waits.
WAITING_KINDS = frozenset({"review", "checks"})


def marker(model: str) -> str:
    """The first line of the sticky comment, which finds it again."""
    return markers.write("report", model=model)


@dataclass(frozen=True)
class ReportView:
    """What a report shows: the comparison, the verdicts, and where it came from."""

    comparison: Comparison
    evaluation: Evaluation
    mlflow_url: str | None = None  # public MLflow UI base; without it run ids are shown
    branch: str | None = None
    title: str | None = None
    edited_policies: Sequence[str] = ()  # policy files this PR changes (not applied yet)
    policy_source: str = "the base branch"
    confidence: float = 0.95


def escape_md(value: object) -> str:
    """Make an untrusted string inert in GitHub Markdown: no HTML, code, tables, pings or commands."""
    text = _CONTROL.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = html.escape(text, quote=False)
    text = (text.replace("\\", "&#92;").replace("`", "&#96;").replace("|", "&#124;")
            .replace("[", "&#91;").replace("]", "&#93;"))
    text = re.sub(r"@(?=\w)", "@" + _ZWJ, text)
    text = re.sub(r"(?m)^(\s*)([#/>!-])", lambda m: m.group(1) + f"&#{ord(m.group(2))};", text)
    return text.replace("\n", " ")


def fence_block(value: object) -> str:
    """Untrusted text (a log, a traceback) as a code block nothing inside can break out of.

    The fence is longer than any backtick run in the text; `<`, `@` and `](` get a zero-width
    joiner, so no HTML, mention, marker or link survives even in a renderer that ignores the fence.
    """
    text = _CONTROL.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("<", "<" + _ZWJ).replace("@", "@" + _ZWJ).replace("](", "]" + _ZWJ + "(")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def escape_plain(value: object) -> str:
    """Strip terminal control sequences from an untrusted string."""
    return _CONTROL.sub("", str(value)).replace("\n", " ")


def fmt_num(value: object, signed: bool = False) -> str:
    """A number with four decimals (or four significant digits when large or tiny)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{'+' if signed and value > 0 else ''}{value}"
    x = float(value)  # type: ignore[arg-type]
    if math.isnan(x):
        return "n/a"
    if abs(x) < NOISE:  # float rounding, not a difference: 0.9 − 0.9000000000000001 shows as 0
        x = 0.0
    sign = "+" if signed and x > 0 else ""
    if x != 0 and (abs(x) >= 1e4 or abs(x) < 1e-3):
        return f"{sign}{x:.4g}"
    return f"{sign}{x:.4f}"


def fmt_cell(value: object) -> str:
    """A gate's observed value or threshold: numbers formatted, text escaped."""
    return escape_md(value) if isinstance(value, str) else fmt_num(value)


def fmt_pct(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:+.2f}%"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "—" if ci is None else f"[{fmt_num(ci[0], True)}, {fmt_num(ci[1], True)}]"


def _chart_label(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40]


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("bot.core", "templates"), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    env.filters["md"] = escape_md
    env.filters["plain"] = escape_plain
    env.filters["num"] = fmt_num
    env.filters["signed"] = lambda v: fmt_num(v, True)
    env.filters["ci"] = fmt_ci
    env.filters["cell"] = fmt_cell
    env.filters["pct"] = fmt_pct
    env.filters["chart_label"] = _chart_label
    return env


_ENVIRONMENTS: dict[str, Environment] = {}


def _env() -> Environment:
    if "env" not in _ENVIRONMENTS:  # built on first use, not at import
        _ENVIRONMENTS["env"] = _environment()
    return _ENVIRONMENTS["env"]


def _metric_mark(m: MetricComparison, results: Sequence[GateResult]) -> str:
    verdicts = [r.verdict for r in results if r.metric == m.name and r.kind in ("vs_production", "threshold")]
    for verdict in ("fail", "inconclusive", "waived", "pass"):
        if verdict in verdicts:
            return MARKS[verdict]
    return ""


def headline(view: ReportView) -> tuple[str, str]:
    """The verdict word and one sentence explaining it."""
    ev = view.evaluation
    blocking = ev.blocking
    names = ", ".join(f"{r.name} ({r.verdict})" for r in blocking[:3])
    names += " …" if len(blocking) > 3 else ""
    if blocking and all(r.kind in WAITING_KINDS for r in blocking):
        return "waiting", f"The model passes its gates; still waiting for: {names}"
    if blocking:
        return "blocked", f"{len(blocking)} blocking gate(s) did not pass: {names}"
    if view.comparison.first_promotion:
        passed = [r for r in ev.results if r.verdict == "pass"]
        if passed:
            return "first promotion", "There is no production model yet; every gate that applies without one passes"
        return "first promotion", "There is no production model yet, so no gate applies; nothing blocks it"
    return "promotable", "Every blocking gate passes"


def _run_url(view: ReportView, run_id: str, experiment_id: str | None) -> str | None:
    if not view.mlflow_url or not experiment_id or not run_id:
        return None
    return f"{view.mlflow_url.rstrip('/')}/#/experiments/{quote(experiment_id)}/runs/{quote(run_id)}"


def flips_line(flips: Flips | None) -> str:
    """Rows production got right that the candidate gets wrong, in one sentence (after "Negative flips:")."""
    if flips is None:
        return "not counted (a regression has no right or wrong per row, or production's predictions are missing)"
    back = f"{flips.positive} went from wrong to right"
    if not flips.negative:
        return f"none — no eval row production got right is wrong for the candidate; {back}"
    examples = f" (e.g. rows {', '.join(flips.examples)})" if flips.examples else ""
    return (f"{flips.negative} of {flips.rows} eval rows ({flips.negative_rate:.1%}) that production got right "
            f"are wrong for the candidate{examples}; {back}")


def methods_line(c: Comparison) -> str:
    """Which method produced each interval, metrics grouped by method (bootstrap settings once)."""
    groups: dict[str, list[str]] = {}
    for m in c.metrics:
        if m.method:
            groups.setdefault(m.method, []).append(m.name)
    parts = [f"{', '.join(names)} by {method}" for method, names in groups.items()]
    if any("bootstrap" in method for method in groups):
        parts.append(f"bootstrap: {c.resamples} resamples, seed {c.seed}")
    return "; ".join(parts) or "none (no paired predictions)"


def _context(view: ReportView, rows: int) -> dict[str, Any]:
    c = view.comparison
    word, sentence = headline(view)
    chart = [m for m in c.metrics if not math.isnan(m.candidate)
             and (m.production is None or not math.isnan(m.production))]
    return {
        "v": view, "c": c, "ev": view.evaluation, "word": word, "sentence": sentence,
        "marker": marker(c.model), "marks": MARKS, "commands": COMMANDS, "rows": rows,
        "metric_marks": {m.name: _metric_mark(m, view.evaluation.results) for m in c.metrics},
        "candidate_url": _run_url(view, c.candidate.run_id, c.candidate.experiment_id),
        "production_url": _run_url(view, c.production.run_id, c.production.experiment_id)
        if c.production else None,
        "chart": chart, "confidence_pct": f"{view.confidence:.0%}",
        "details": [r for r in view.evaluation.results if r.details],
        "flips_line": flips_line(c.flips),
        "methods_line": methods_line(c),
    }


def _hard_cut(text: str, limit: int) -> str:
    note = "\n\n… report cut to fit GitHub's comment limit; the full comparison is in MLflow.\n"
    cut = text[: limit - len(note)]
    return cut[: cut.rfind("\n")] + note if "\n" in cut else cut + note


def render_markdown(view: ReportView, *, limit: int = _SAFE_LIMIT) -> str:
    """The sticky PR comment (first line is the marker), always under GitHub's size limit."""
    template = _env().get_template("comment.md.j2")
    text = ""
    for rows in _SHRINK_STEPS:
        text = template.render(**_context(view, rows))
        if len(text) <= limit:
            return text
    return _hard_cut(text, limit)


def render_text(view: ReportView) -> str:
    """The same report for a terminal."""
    return _env().get_template("report.txt.j2").render(**_context(view, 20))


def _json_number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def _json_value(value: object) -> object:
    return _json_number(value) if isinstance(value, float) else value


def _json_flips(flips: Flips | None) -> dict[str, Any] | None:
    if flips is None:
        return None
    return {"count": flips.negative, "rows": flips.rows, "rate": flips.negative_rate,
            "positive": flips.positive, "examples": list(flips.examples)}


def render_json(view: ReportView) -> dict[str, Any]:
    """The stable JSON object of SPEC §6."""
    c = view.comparison
    return {
        "model": c.model,
        "candidate": {"run_id": c.candidate.run_id, "sha": c.candidate.sha, "pr": c.candidate.pr},
        "production": None if c.production is None
        else {"version": c.production.version, "run_id": c.production.run_id},
        "metrics": [
            {"name": m.name, "higher_is_better": m.higher_is_better, "production": _json_number(m.production),
             "candidate": _json_number(m.candidate), "delta": _json_number(m.delta),
             "ci": None if (ci := m.ci(view.confidence)) is None else [_json_number(x) for x in ci],
             "method": m.method or None}
            for m in c.metrics
        ],
        "gates": [
            {"name": r.name, "verdict": r.verdict, "severity": r.severity,
             "observed": _json_value(r.observed), "threshold": _json_value(r.threshold), "reason": r.reason}
            for r in view.evaluation.results
        ],
        "promotable": view.evaluation.promotable,
        "negative_flips": _json_flips(c.flips),  # added after the SPEC §6 fields, which stay as they are
    }
