"""The project's data: read train/eval tables, split features from target, hash the eval rows."""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bot.core.config import CONFIG_FILE, Project
from bot.core.errors import ConfigError, Problem

SHOWN_COLUMNS = 8  # columns listed when a name matches none
READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


@dataclass(frozen=True)
class Dataset:
    """Train and eval tables, already checked against `data:`."""

    train: pd.DataFrame
    eval: pd.DataFrame
    target: str
    id_column: str | None
    slices: tuple[str, ...]

    @property
    def feature_columns(self) -> list[str]:
        """Every column except the target and the row id (slice columns stay features)."""
        drop = {self.target, self.id_column}
        return [str(c) for c in self.train.columns if c not in drop]

    def features(self, split: str) -> pd.DataFrame:
        return (self.train if split == "train" else self.eval)[self.feature_columns]

    def labels(self, split: str) -> pd.Series:
        return (self.train if split == "train" else self.eval)[self.target]

    def row_ids(self) -> pd.Series:
        """The `data.id` column of the eval rows, else their 0-based index."""
        if self.id_column:
            return self.eval[self.id_column].reset_index(drop=True)
        return pd.Series(range(len(self.eval)), name="row_id")


def read_table(path: Path, key: str) -> tuple[pd.DataFrame | None, Problem | None]:
    """Read a CSV or Parquet file, or say why not (as a problem at `key`)."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        return None, Problem(CONFIG_FILE, key, f"{path.name}: use a .csv or .parquet file")
    if not path.is_file():
        return None, Problem(CONFIG_FILE, key, f"data file {path} does not exist")
    try:
        frame = reader(path)
    except Exception as error:  # pandas raises many types for unreadable files
        return None, Problem(CONFIG_FILE, key, f"cannot read {path} ({type(error).__name__}: {error})")
    if frame.empty:
        return None, Problem(CONFIG_FILE, key, f"{path} has no rows")
    return frame, None


def _column_problems(project: Project, train: pd.DataFrame, evaluation: pd.DataFrame) -> list[Problem]:
    data = project.config.data
    wanted = [("data.target", data.target)]
    wanted += [("data.id", data.id)] if data.id else []
    wanted += [(f"data.slices[{i}]", column) for i, column in enumerate(data.slices)]
    problems = []
    for key, column in wanted:
        absent = [split for split, frame in (("train", train), ("eval", evaluation)) if column not in frame.columns]
        if absent:
            columns = [str(c) for c in (train if absent[0] == "train" else evaluation).columns]
            problems.append(Problem(CONFIG_FILE, key, f"column {column!r} is not in the {' or '.join(absent)} "
                                    f"data ({column_hint(str(column), columns)})"))
    if data.target in train.columns and project.config.task == "classification":
        problems += _continuous_target(train[data.target], data.target)
    missing = [str(c) for c in train.columns if c not in evaluation.columns]
    if missing:
        problems.append(Problem(CONFIG_FILE, "data.eval",
                                f"the eval data lacks train columns {', '.join(missing[:10])}"))
    for split, frame in (("train", train), ("eval", evaluation)):
        if data.target in frame.columns and frame[data.target].isna().any():
            problems.append(Problem(CONFIG_FILE, "data.target",
                                    f"column {data.target!r} has missing values in the {split} data"))
    return problems


def column_hint(column: str, columns: list[str]) -> str:
    """The closest column name, else the first columns and "…" when there are more."""
    by_case = {c.lower(): c for c in columns}
    close = [by_case[column.lower()]] if column.lower() in by_case else difflib.get_close_matches(column, columns, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    more = f", … ({len(columns) - SHOWN_COLUMNS} more)" if len(columns) > SHOWN_COLUMNS else ""
    return f"its {len(columns)} columns: {', '.join(columns[:SHOWN_COLUMNS])}{more}"


def _continuous_target(labels: pd.Series, target: str) -> list[Problem]:
    """A classification target must hold classes: numbers with fractions are a regression target."""
    numbers = pd.to_numeric(labels, errors="coerce").dropna()
    if not pd.api.types.is_float_dtype(labels) or (numbers == numbers.round()).all():
        return []
    return [Problem(CONFIG_FILE, "data.target", f"column {target!r} holds {labels.nunique()} distinct numbers "
                    f"with fractions (such as {numbers[numbers != numbers.round()].iloc[0]:g}), which are not "
                    "classes; set `task: regression`, or make the column hold class labels")]


def load_dataset(project: Project) -> Dataset:
    """Read and check the data files; raise ConfigError naming every problem."""
    data = project.config.data
    train, train_problem = read_table(project.path(data.train), "data.train")
    evaluation, eval_problem = read_table(project.path(data.eval), "data.eval")
    problems = [p for p in (train_problem, eval_problem) if p]
    if train is not None and evaluation is not None:
        problems += _column_problems(project, train, evaluation)
    if problems or train is None or evaluation is None:
        raise ConfigError(problems, hint="fix the data files or the data: keys, then run `mlbot check`")
    return Dataset(train=train, eval=evaluation[list(train.columns)], target=data.target,
                   id_column=data.id, slices=tuple(data.slices))


def rows_sha256(frame: pd.DataFrame) -> str:
    """A digest of every eval row and column (MLflow's dataset digest only samples the first rows)."""
    text = frame.to_csv(index=False, lineterminator="\n", float_format="%.17g")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
