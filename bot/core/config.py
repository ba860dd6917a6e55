"""The `mlbot.yaml` schema: parsed from text into a typed `ProjectConfig`, errors as `file: key: problem`.

Everything here is pure except `load_project`, which reads the file and follows the configured paths
(none may leave the checkout, SPEC §10). Checks that need the data or the estimator (columns exist,
params accepted) live in `bot.training.train.check_project`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.cron import parse_cron
from bot.core.errors import ConfigError, Problem
from bot.core.paths import escape_problem, outside_checkout

CONFIG_FILE = "mlbot.yaml"
Task = Literal["classification", "regression"]

# What `metrics:` defaults to per task; the first one is primary. Names must exist in bot.core.judge.metrics.
DEFAULT_METRICS: dict[str, list[str]] = {
    "classification": ["roc_auc", "accuracy", "f1"],
    "regression": ["rmse", "mae", "r2"],
}


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, plus YAML 1.2 floats: `1e-3` is a number, not the string '1e-3'."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_yaml(text: str) -> Any:
    """Parse YAML safely, reading `1e-3` as a float."""
    return yaml.load(text, Loader=_Loader)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    train: str
    eval: str
    target: str
    id: str | None = None
    slices: list[str] = Field(default_factory=list)


class TrainConfig(_Strict):
    estimator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    command: str | None = None
    inputs: list[str] | None = None  # None: mlbot.yaml + the data files (+ the whole repo in command mode)

    @model_validator(mode="after")
    def _one_mode(self) -> TrainConfig:
        if bool(self.estimator) == bool(self.command):
            raise ValueError("set exactly one of train.estimator (declarative) or train.command "
                             "(your script)")
        return self

    @field_validator("estimator")
    @classmethod
    def _dotted(cls, value: str | None) -> str | None:
        parts = (value or "").split(".")
        if value is not None and (len(parts) < 2 or not all(p.isidentifier() for p in parts)):
            raise ValueError(f"{value!r} is not a dotted import path such as "
                             "sklearn.ensemble.RandomForestClassifier")
        return value

    @property
    def mode(self) -> Literal["estimator", "command"]:
        return "command" if self.command else "estimator"


class CiConfig(_Strict):
    runner: Literal["actions", "local"] = "actions"
    workflow: str = "mlbot-train.yml"
    paths: list[str] = Field(default_factory=lambda: ["**"])


class CommandsConfig(_Strict):
    retrain_params: list[str] = Field(default_factory=list)
    promoters: list[str] = Field(default_factory=list)


class PromoteConfig(_Strict):
    alias: str = "production"
    git_tag: bool = True
    deployment: bool = True


class WatchConfig(_Strict):
    """Where production data comes from and how often mlbot looks at it (docs/watch.md)."""

    data: str | None = None  # a path or glob (CSV/Parquet) readable by the job, often outside the repository
    command: str | None = None  # writes the window to $MLBOT_WATCH_OUTPUT
    label: str | None = None
    schedule: str = "0 6 * * *"
    trend: int = Field(default=8, ge=2, le=52)
    close_after: int = Field(default=2, ge=1, le=100)
    refresh: str | None = None  # the team's data-refresh command, run by `/retrain`

    @model_validator(mode="after")
    def _one_source(self) -> WatchConfig:
        if bool(self.data) == bool(self.command):
            raise ValueError("set exactly one of watch.data (a path or glob) or watch.command (writes the "
                             "window to $MLBOT_WATCH_OUTPUT)")
        return self

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return parse_cron(value).text


class ProjectConfig(_Strict):
    model: str = Field(min_length=1)
    task: Task
    experiment: str | None = None
    data: DataConfig
    train: TrainConfig
    metrics: list[str] = Field(default_factory=list)
    ci: CiConfig = Field(default_factory=CiConfig)
    commands: CommandsConfig = Field(default_factory=CommandsConfig)
    promote: PromoteConfig = Field(default_factory=PromoteConfig)
    watch: WatchConfig | None = None

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.model

    @property
    def metric_names(self) -> list[str]:
        """The configured metrics, primary first (the task's defaults when none are set)."""
        return list(self.metrics) or list(DEFAULT_METRICS[self.task])

    @property
    def named_paths(self) -> list[tuple[str, str]]:
        """Every path mlbot.yaml names, with its key: `data.train`, `data.eval`, `train.inputs[i]`."""
        named = [("data.train", self.data.train), ("data.eval", self.data.eval)]
        return named + [(f"train.inputs[{i}]", path) for i, path in enumerate(self.train.inputs or [])]

    @property
    def input_paths(self) -> list[str]:
        """What the run-cache key hashes."""
        if self.train.inputs is not None:
            return list(self.train.inputs)
        if self.train.command:
            return ["."]
        return [CONFIG_FILE, self.data.train, self.data.eval]


@dataclass(frozen=True)
class Project:
    """A parsed project and the directory it lives in."""

    root: Path
    config: ProjectConfig
    filename: str = CONFIG_FILE

    def path(self, relative: str) -> Path:
        return self.root / relative

    def path_problems(self) -> list[Problem]:
        """Configured paths that leave the checkout: absolute, `..`, or a symlink pointing out."""
        problems = []
        for key, relative in self.config.named_paths:
            problem = escape_problem(relative) or outside_checkout(self.root, relative)
            if problem:
                problems.append(Problem(self.filename, key, problem))
        return problems

    def require_paths_inside(self) -> None:
        """Raise ConfigError naming each configured path that leaves the checkout."""
        problems = self.path_problems()
        if problems:
            raise ConfigError(problems, hint="use paths relative to mlbot.yaml that stay inside the "
                                             "repository (no absolute paths, no '..', no symlinks out)")


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed at the parent of `loc`, for did-you-mean hints."""
    model: type[BaseModel] | None = ProjectConfig
    for part in loc[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        annotation = next((a for a in get_args(annotation) if a is not type(None)), annotation)  # X | None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return list(model.model_fields) if model else []


def _describe(error: Any) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _fields_at(loc), n=1)
        return "unknown key" + (f"; did you mean {close[0]!r}?" if close else "")
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    if kind in {"string_type", "bool_type", "list_type", "dict_type", "literal_error", "model_type"}:
        message += f" (got {error.get('input')!r})"
    return message


def _problems(error: ValidationError, filename: str) -> list[Problem]:
    return [Problem(filename, ".".join(str(p) for p in e["loc"]), _describe(e)) for e in error.errors()]


def lexical_path_problems(config: ProjectConfig, filename: str = CONFIG_FILE) -> list[Problem]:
    """Configured paths that leave the checkout on their face: absolute or escaping through `..`."""
    problems = []
    for key, relative in config.named_paths:
        problem = escape_problem(relative)
        if problem:
            problems.append(Problem(filename, key, problem))
    return problems


def metric_problems(config: ProjectConfig, filename: str = CONFIG_FILE) -> list[Problem]:
    """Unknown metrics, or metrics of the other task."""
    from bot.core.judge import metrics  # lazy: it imports scikit-learn, which a run-cache hit never needs

    problems = []
    for index, name in enumerate(config.metrics):
        known = metrics.METRICS.get(name)
        allowed = metrics.metrics_for(config.task)
        if known is None:
            close = difflib.get_close_matches(name, list(metrics.METRICS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append(Problem(filename, f"metrics[{index}]",
                                    f"unknown metric {name!r}; {hint}choose from {', '.join(allowed)}"))
        elif known.task != config.task:
            problems.append(Problem(filename, f"metrics[{index}]",
                                    f"{name!r} is a {known.task} metric but task is {config.task}; "
                                    f"choose from {', '.join(allowed)}"))
    for index, column in enumerate(config.data.slices):
        if column == config.data.target:
            problems.append(Problem(filename, f"data.slices[{index}]", "the target cannot be a slice"))
    return problems


def parse_project(text: str, filename: str = CONFIG_FILE, *, check_metrics: bool = True) -> ProjectConfig:
    """Parse and validate `mlbot.yaml` text; raise ConfigError listing every problem."""
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        reason = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError([Problem(filename, "", f"{where}{reason} (the file is not valid YAML)")],
                          hint="fix the YAML syntax, then run `mlbot check`") from None
    if not isinstance(raw, dict):
        problem = Problem(filename, "", "expected a mapping of keys (model, task, data, train, ...)")
        raise ConfigError([problem],
                          hint="see `mlbot init` for a starting point")
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_problems(error, filename),
                          hint="fix the keys above, then run `mlbot check`") from None
    problems = lexical_path_problems(config, filename)
    problems += metric_problems(config, filename) if check_metrics else []
    if problems:
        raise ConfigError(problems, hint="fix the keys above, then run `mlbot check`")
    return config


def load_project(directory: Path | str, *, check_metrics: bool = True,
                 elsewhere: str = "pass --project DIR") -> Project:
    """Read and parse `<directory>/mlbot.yaml`; `elsewhere` says how the command is pointed at another directory."""
    root = Path(directory)
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "", "file not found")],
                          hint=f"run `mlbot init` to create one, or {elsewhere}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([Problem(str(path), "", f"cannot be read ({error})")]) from None
    project = Project(root=root, config=parse_project(text, CONFIG_FILE, check_metrics=check_metrics))
    project.require_paths_inside()
    return project
