"""Policies: the typed schema of `policies/*.yaml`, loading with `file: key: problem` errors.

A policy file holds `gates:`, a list of gates; each gate has a `name` and exactly one kind:
`metric` + `min`/`max`, `metric` + `vs_production`, `metric` + `slices`, `eval_set`, `data`,
`model`, `max_negative_flip_rate`, `review` or `checks`; and watch gates, judged on production
windows by `mlbot watch`: `watch` and `metric` + `vs_reference`. Evaluation into verdicts lives in
`bot.core.judge.gates` (pull requests) and `bot.core.judge.watch_gates` (windows).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.errors import ConfigError, Problem
from bot.core.judge.metrics import METRICS, OPERATIONAL_METRICS
from bot.core.policy_watch import VsReference, WatchRule

PRIMARY = "primary"  # stands for the first metric configured in mlbot.yaml
DEFAULT_POLICY_FILE = "mlbot default policy"
KNOWN_METRICS = (*METRICS, *OPERATIONAL_METRICS, PRIMARY)
RELATIVE_KINDS = frozenset({"vs_production", "slices", "eval_set", "data", "negative_flips"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class VsProduction(_Strict):
    max_drop: float | None = Field(default=None, ge=0)
    min_gain: float | None = None
    confidence: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _one_margin(self) -> VsProduction:
        if (self.max_drop is None) == (self.min_gain is None):
            raise ValueError("give exactly one of max_drop (not worse) or min_gain (better by)")
        return self


class SliceRule(_Strict):
    column: str
    max_drop: float = Field(ge=0)
    min_rows: int = Field(default=30, ge=1)
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class DataRule(_Strict):
    schema_: Literal["unchanged"] | None = Field(default=None, alias="schema")
    max_psi: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_rule(self) -> DataRule:
        if (self.schema_ is None) == (self.max_psi is None):
            raise ValueError("give exactly one of schema: unchanged or max_psi: <number>")
        return self


class ModelRule(_Strict):
    max_size_mb: float | None = Field(default=None, gt=0)
    max_p95_latency_ms: float | None = Field(default=None, gt=0)
    max_latency_ratio: float | None = Field(default=None, gt=0)  # candidate p95 / production p95

    @model_validator(mode="after")
    def _some_limit(self) -> ModelRule:
        if self.max_size_mb is None and self.max_p95_latency_ms is None and self.max_latency_ratio is None:
            raise ValueError("give at least one of max_size_mb, max_p95_latency_ms, max_latency_ratio")
        return self


class ReviewRule(_Strict):
    min_approvals: int = Field(default=1, ge=1)
    exclude_author: bool = True


class ChecksRule(_Strict):
    required: list[str] = Field(min_length=1)


GateKind = Literal["threshold", "vs_production", "slices", "eval_set", "data", "model", "negative_flips",
                   "review", "checks", "watch", "vs_reference"]
WATCH_KINDS = frozenset({"watch", "vs_reference"})  # judged by `mlbot watch` on production windows
_KIND_KEYS: dict[GateKind, tuple[str, ...]] = {
    "vs_production": ("vs_production",), "slices": ("slices",), "eval_set": ("eval_set",),
    "data": ("data",), "model": ("model",), "negative_flips": ("max_negative_flip_rate",),
    "review": ("review",), "checks": ("checks",), "threshold": ("min", "max"),
    "watch": ("watch",), "vs_reference": ("vs_reference",),
}


class Gate(_Strict):
    """One gate: a name, exactly one kind, how much it blocks."""

    name: str = Field(min_length=1)
    description: str | None = None
    metric: str | None = None
    min: float | None = None
    max: float | None = None
    vs_production: VsProduction | None = None
    slices: SliceRule | None = None
    eval_set: Literal["unchanged"] | None = None
    data: DataRule | None = None
    model: ModelRule | None = None
    max_negative_flip_rate: float | None = Field(default=None, ge=0, le=1)  # rows right → wrong, share
    review: ReviewRule | None = None
    checks: ChecksRule | None = None
    watch: WatchRule | None = None
    vs_reference: VsReference | None = None
    severity: Literal["block", "warn"] = "block"
    inconclusive: Literal["block", "warn"] = "block"

    @property
    def kind(self) -> GateKind:
        return self._kinds()[0]

    def _kinds(self) -> list[GateKind]:
        return [k for k, keys in _KIND_KEYS.items() if any(getattr(self, key) is not None for key in keys)]

    @property
    def relative(self) -> bool:
        """Whether the gate compares with production (and so skips before the first promotion)."""
        return self.kind in RELATIVE_KINDS

    @property
    def watches(self) -> bool:
        """Whether the gate judges production windows (`mlbot watch`) rather than pull requests."""
        return self.kind in WATCH_KINDS

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is not None and value not in KNOWN_METRICS:
            raise ValueError(_unknown("metric", value, KNOWN_METRICS))
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Gate:
        kinds = self._kinds()
        if len(kinds) != 1:
            listed = ("min/max, vs_production, slices, eval_set, data, model, max_negative_flip_rate, review, "
                      "checks, watch, vs_reference")
            found = f"found {', '.join(kinds)}" if kinds else "found none"
            raise ValueError(f"a gate needs exactly one kind ({listed}); {found}")
        needs_metric = kinds[0] in ("threshold", "vs_production", "slices", "vs_reference")
        if needs_metric and self.metric is None:
            raise ValueError(f"a {kinds[0].replace('threshold', 'min/max')} gate needs `metric:`")
        if not needs_metric and self.metric is not None:
            raise ValueError(f"`metric:` does not apply to {kinds[0]} gates; remove it")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class PolicyFile(_Strict):
    gates: list[Gate] = Field(default_factory=list)


@dataclass(frozen=True)
class PlacedGate:
    """A gate and where it was written, for error messages."""

    gate: Gate
    file: str
    index: int

    @property
    def where(self) -> str:
        return f"gates[{self.index}]"


@dataclass(frozen=True)
class PolicySet:
    """All gates of a repository, in file order (files sorted by path)."""

    placed: tuple[PlacedGate, ...]
    files: tuple[str, ...]

    @property
    def gates(self) -> list[Gate]:
        """The gates a pull request is judged by (watch gates are judged on production windows)."""
        return [p.gate for p in self.placed if not p.gate.watches]

    @property
    def watch_gates(self) -> list[Gate]:
        """The gates `mlbot watch` judges each production window by."""
        return [p.gate for p in self.placed if p.gate.watches]

    @property
    def is_default(self) -> bool:
        return self.files == (DEFAULT_POLICY_FILE,)

    def confidence_levels(self) -> list[float]:
        """Every confidence a gate asks for, so compare computes those CIs."""
        levels = {0.95}
        for g in self.gates:
            rule = g.vs_production or g.slices
            if rule is not None:
                levels.add(rule.confidence)
        return sorted(levels)


# --- errors ---------------------------------------------------------------------------------------


def _unknown(what: str, value: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {value!r}{hint}; known: {', '.join(known)}"


_MODELS: dict[str, type[BaseModel]] = {
    "gates": Gate, "vs_production": VsProduction, "slices": SliceRule, "data": DataRule,
    "model": ModelRule, "review": ReviewRule, "checks": ChecksRule, "watch": WatchRule,
    "vs_reference": VsReference,
}
_TYPES = {
    "float": "a number", "int": "a whole number", "string": "text", "bool": "true or false",
    "list": "a list", "dict": "a mapping (key: value)", "model": "a mapping (key: value)",
}


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    owner = next((p for p in reversed(loc[:-1]) if isinstance(p, str)), None)
    model: type[BaseModel] = _MODELS.get(owner, PolicyFile) if owner else PolicyFile
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(error: Mapping[str, Any]) -> str:
    kind, loc, value = str(error["type"]), error["loc"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc)
        return _unknown("key", str(loc[-1]), allowed).replace("; known:", "; allowed keys:")
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {value!r}"
    for prefix, expected in _TYPES.items():
        if kind.startswith(prefix + "_") or kind == f"{prefix}_type":
            return f"expected {expected}, got {value!r}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{str(error['msg'])[0].lower()}{str(error['msg'])[1:]}, got {value!r}"


def parse_policy(path: str, text: str) -> tuple[PolicyFile | None, list[Problem]]:
    """Parse one policy file; return it or the problems found."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        return None, [Problem(path, "", f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}")]
    if raw is None:
        return PolicyFile(), []
    if not isinstance(raw, dict):
        return None, [Problem(path, "", "expected a mapping with a `gates:` list at the top")]
    try:
        return PolicyFile.model_validate(raw), []
    except ValidationError as exc:
        return None, [Problem(path, _path(e["loc"]), _describe(e)) for e in exc.errors()]


def default_policy_text() -> str:
    """The default policy shipped with mlbot, used when a repository has no policies."""
    return resources.files("bot.policies").joinpath("default.yaml").read_text(encoding="utf-8")


def _valid_gates(path: str, text: str) -> list[PlacedGate]:
    """The gates of a file that failed to parse that are valid on their own (to check them in the same round)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    gates = raw.get("gates") if isinstance(raw, dict) else None
    placed = []
    for i, item in enumerate(gates if isinstance(gates, list) else []):
        try:
            placed.append(PlacedGate(Gate.model_validate(item), path, i))
        except ValidationError:
            continue
    return placed


def _parse_all(files: Mapping[str, str]) -> tuple[list[PlacedGate], list[Problem]]:
    """Every file's gates and problems; a broken file still gives its valid gates, for one round of problems."""
    placed: list[PlacedGate] = []
    problems: list[Problem] = []
    for path in sorted(files):
        parsed, found = parse_policy(path, files[path])
        problems += found
        placed += [PlacedGate(g, path, i) for i, g in enumerate(parsed.gates)] if parsed is not None else (
            _valid_gates(path, files[path]))
    return placed, problems


def load_policies(files: Mapping[str, str]) -> PolicySet:
    """Parse every policy file (sorted by path) into one set; no files means the default policy."""
    if not files:
        files = {DEFAULT_POLICY_FILE: default_policy_text()}
    placed, problems = _parse_all(files)
    seen: dict[str, PlacedGate] = {}
    for p in placed:
        if p.gate.name in seen:
            first = seen[p.gate.name]
            problems.append(Problem(p.file, f"{p.where}.name", f"{p.gate.name!r} is already the name of "
                                    f"{first.file}: {first.where}; gate names must be unique"))
        seen.setdefault(p.gate.name, p)
    if problems:
        raise ConfigError(problems, hint="fix the policy files, then run `mlbot check`")
    return PolicySet(tuple(placed), tuple(sorted(files)))


def policy_problems(files: Mapping[str, str], metric_names: Sequence[str], slice_columns: Sequence[str],
                    task: str | None = None) -> list[Problem]:
    """Every problem of the policy files in one round: unknown keys and metric names together."""
    if not files:
        files = {DEFAULT_POLICY_FILE: default_policy_text()}
    placed, problems = _parse_all(files)
    if not problems:
        try:
            load_policies(files)  # the checks across files (unique names)
        except ConfigError as error:
            problems += error.problems
    return problems + validate_against(PolicySet(tuple(placed), tuple(sorted(files))), metric_names,
                                       slice_columns, task)


def _metric_problem(metric: str, metric_names: Sequence[str], task: str | None) -> str:
    """Why a gate's metric is not one the project measures, and the fix that applies."""
    defined = METRICS.get(metric)
    if task is not None and defined is not None and defined.task != task:
        return (f"{metric!r} is a {defined.task} metric and this is a {task} model; gate on one of its "
                f"metrics ({', '.join(metric_names)})")
    return (f"{metric!r} is not among the metrics in mlbot.yaml ({', '.join(metric_names)}); add it there or "
            "fix the name")


def validate_against(
    policy: PolicySet, metric_names: Sequence[str], slice_columns: Sequence[str], task: str | None = None
) -> list[Problem]:
    """Problems where gates name metrics or slice columns the project does not configure."""
    problems = []
    for p in policy.placed:
        metric = p.gate.metric
        if metric is not None and metric not in (*metric_names, *OPERATIONAL_METRICS, PRIMARY):
            problems.append(Problem(p.file, f"{p.where}.metric", _metric_problem(metric, metric_names, task)))
        if p.gate.slices is not None and p.gate.slices.column not in slice_columns:
            known = ", ".join(slice_columns) or "none"
            problems.append(Problem(p.file, f"{p.where}.slices.column", f"{p.gate.slices.column!r} is not "
                                    f"among data.slices in mlbot.yaml ({known}); add it there"))
    return problems
