"""What a training run is asked for and what it answers, shared by `mlbot train` and `mlbot evaluate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrainRequest:
    """One `mlbot train` / `mlbot evaluate` invocation: the project and the run's identity."""

    project_dir: Path = Path(".")
    sha: str = ""
    pr: int | None = None
    branch: str = ""
    trigger: str = "manual"
    repo: str = ""
    ci_url: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    force: bool = False
    sha_from_head: bool = False  # the sha is the checkout's HEAD (not given): uncommitted changes matter


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    reused: bool
    cache_key: str
    metric_names: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    production_metrics: dict[str, float] | None = None
    baseline_version: str | None = None
