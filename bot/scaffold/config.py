"""The text of the `mlbot.yaml` that `mlbot init` writes (SPEC §3)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.judge.metrics import Task


def model_name(root: Path) -> str:
    """A registered-model name from the repository's directory name."""
    slug = re.sub(r"[^a-z0-9]+", "-", root.resolve().name.lower()).strip("-")
    return slug or "model"


def _flow(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _wrap_comment(prefix: str, items: Sequence[str], width: int = 100) -> list[str]:
    lines, current = [], prefix
    indent = prefix[: len(prefix) - len(prefix.lstrip())] + "#   "
    for item in items:
        piece = (", " if current != prefix else "") + item
        if len(current) + len(piece) > width and current != prefix:
            lines.append(current + ",")
            current = indent + item
        else:
            current += piece
    return [*lines, current]


@dataclass(frozen=True)
class ProjectSpec:
    """Everything `mlbot.yaml` is rendered from."""

    model: str
    task: Task
    train: str
    eval: str
    target: str
    features: list[str]
    metrics: list[str]
    inputs: list[str]
    slice_candidates: list[str] = field(default_factory=list)
    target_std: float | None = None


def render_config(spec: ProjectSpec) -> str:
    """The text of `mlbot.yaml` (SPEC §3), with the columns found noted as comments."""
    estimator = ("sklearn.ensemble.RandomForestClassifier" if spec.task == "classification"
                 else "sklearn.ensemble.RandomForestRegressor")
    lines = [
        "# mlbot configuration, written by `mlbot init`. `mlbot check` validates it; mlbot's docs",
        "# (Configuration) explain every key.",
        f"model: {json.dumps(spec.model)}",
        f"task: {spec.task}",
        f"experiment: {json.dumps(spec.model)}",
        "data:",
        f"  train: {json.dumps(spec.train)}",
        f"  eval: {json.dumps(spec.eval)}         # fixed rows: candidate and production are scored on them",
        f"  target: {json.dumps(spec.target)}",
        "  id: null",
        "  slices: []",
        *(_wrap_comment("  # columns that could be slices: ", spec.slice_candidates)
          if spec.slice_candidates else []),
        *_wrap_comment(f"  # features ({len(spec.features)}): ", spec.features),
        "train:",
        f"  estimator: {estimator}",
        "  params: {n_estimators: 200, random_state: 0}",
        "  # command: python train.py   # or your own script writing a fitted model to $MLBOT_MODEL_PATH",
        f"  inputs: {_flow(spec.inputs)}",
        f"metrics: {_flow(spec.metrics)}   # the first one is primary",
        "ci:",
        "  runner: actions",
        "  workflow: mlbot-train.yml",
        '  paths: ["**"]',
        "commands:",
        "  retrain_params: [n_estimators, max_depth]",
        "  promoters: []",
        "promote:",
        "  alias: production",
        "  git_tag: true",
        "  deployment: true",
        "# Production watch (docs/watch.md): uncomment to have `mlbot watch` (the scheduled",
        "# .github/workflows/mlbot-watch.yml, or `mlbot serve`) compare production data with training.",
        "# watch:",
        '#   data: "/data/production/*.parquet"   # a path or glob the job can read (CSV or Parquet)',
        "#   # command: python extract.py        # or your query, writing the window to $MLBOT_WATCH_OUTPUT",
        f"#   label: {json.dumps(spec.target)}              # if labels arrive with the data; omit otherwise",
        '#   schedule: "0 6 * * *"               # cron, UTC: every day at 06:00',
        "#   trend: 8                            # windows shown in the issue's trend",
        "#   close_after: 2                      # healthy windows before the bot closes the issue",
        "#   refresh: python refresh_data.py     # what `/retrain` runs to refresh the training data",
    ]
    return "\n".join(lines) + "\n"
