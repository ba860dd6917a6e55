"""`mlbot init`'s reading of the user's data: the table, the target, the task, the split."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bot.core.errors import UsageError
from bot.core.judge.metrics import Task

EVAL_FRACTION = 0.2
SPLIT_SEED = 0
# A numeric target with at most this many distinct values is taken for class labels.
MAX_CLASSES = 20
TARGET_NAMES = ("target", "label", "y", "class", "outcome")
# How many column names a "no such column" hint lists before "… (N more)".
SHOWN_COLUMNS = 8


def guess_task(target: pd.Series) -> Task:
    """Classification for labels (non-numeric or few distinct values), else regression."""
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "classification"
    return "classification" if target.nunique(dropna=True) <= MAX_CLASSES else "regression"


def default_metrics(task: Task, n_classes: int) -> list[str]:
    """Metrics for a new project, primary first."""
    if task == "regression":
        return ["rmse", "mae", "r2"]
    if n_classes <= 2:
        return ["roc_auc", "accuracy", "f1"]
    return ["accuracy", "balanced_accuracy", "f1"]


def guess_target(columns: Sequence[str]) -> str:
    """A conventional target name when present, else the last column."""
    lowered = {c.lower(): c for c in columns}
    for name in TARGET_NAMES:
        if name in lowered:
            return lowered[name]
    return columns[-1]


def split_rows(frame: pd.DataFrame, seed: int = SPLIT_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A deterministic train/eval split: the same rows give the same files every time."""
    order = np.random.default_rng(seed).permutation(len(frame))
    n_eval = max(1, round(len(frame) * EVAL_FRACTION))
    return frame.iloc[np.sort(order[n_eval:])], frame.iloc[np.sort(order[:n_eval])]


def data_entries(*paths: str) -> list[str]:
    """Where data files live, for `train.inputs`: their folders (`data/`), or the files at the root."""
    entries: list[str] = []
    for rel in paths:
        parent = Path(rel).parent.as_posix()
        entry = rel if parent == "." else parent + "/"
        if entry not in entries:
            entries.append(entry)
    return entries


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet data file, with a sentence instead of a traceback on failure."""
    if not path.is_file():
        raise UsageError(f"the data file {path} does not exist", hint="pass an existing CSV or Parquet file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError, ImportError) as error:
        raise UsageError(f"cannot read {path} as a table: {error}",
                         hint="pass a CSV (with a header row) or a Parquet file") from None


def table_bytes(frame: pd.DataFrame, suffix: str) -> bytes:
    """Serialise a split in the input's format."""
    if suffix in (".parquet", ".pq"):
        out: bytes = frame.to_parquet(index=False)
        return out
    return str(frame.to_csv(index=False, lineterminator="\n")).encode()


def check_target(frame: pd.DataFrame, target: str, source: Path) -> None:
    """Refuse a target that is not a column, naming the closest one (or some of them)."""
    if target in frame.columns:
        return
    columns = [str(c) for c in frame.columns]
    by_case = {c.lower(): c for c in columns}
    close = [by_case[target.lower()]] if target.lower() in by_case else difflib.get_close_matches(target, columns, n=1)
    if close:
        hint = f"did you mean --target {close[0]!r}?"
    else:
        shown = ", ".join(repr(c) for c in columns[:SHOWN_COLUMNS])
        more = f", … ({len(columns) - SHOWN_COLUMNS} more)" if len(columns) > SHOWN_COLUMNS else ""
        hint = f"pass --target with one of its {len(columns)} columns: {shown}{more}"
    raise UsageError(f"{source} has no column {target!r}", hint=hint)
