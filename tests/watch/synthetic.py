"""Synthetic references and windows for the watch tests and benchmark: 30 normal features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bot.core.judge.drift import measure
from bot.training.dataset import Dataset
from bot.training.profile import profile

FEATURES = 30
REFERENCE_ROWS = 5_000
SHIFTED = frozenset({"x00", "x01", "x02"})


def frame(rng: np.random.Generator, rows: int, shifted: int = 0, shift: float = 0.5) -> pd.DataFrame:
    """`rows` rows of FEATURES standard normals (x00 …), the first `shifted` moved by `shift` σ, a label."""
    data = rng.normal(size=(rows, FEATURES))
    data[:, :shifted] += shift
    df = pd.DataFrame(data, columns=[f"x{i:02d}" for i in range(FEATURES)])
    df["label"] = (data[:, 0] + rng.normal(size=rows) > 0).astype(int)
    return df


def reference_profile(seed: int = 0, rows: int = REFERENCE_ROWS) -> dict[str, Any]:
    """The profile a production run would log for training rows drawn from the reference."""
    rng = np.random.default_rng(seed)
    train, evaluation = frame(rng, rows), frame(rng, rows // 4)
    return profile(Dataset(train, evaluation, "label", None, ()), "classification")


def columns(df: pd.DataFrame) -> dict[str, Any]:
    """A window as the core reads it: column name → numpy array."""
    return {str(c): df[c].to_numpy() for c in df.columns}


def alarm_rates(profile: dict[str, Any], seed: int, windows: int = 100) -> tuple[int, int]:
    """(false alarms, detections) over `windows` windows of 1,000 rows.

    A false alarm is a window drawn from the reference that flags any column; a detection is a window
    with the SHIFTED features moved 0.5 σ that flags all three of them.
    """
    rng = np.random.default_rng(seed)
    alarms = detections = 0
    for _ in range(windows):
        alarms += bool(measure(profile, columns(frame(rng, 1000)), rows=1000).drifted)
        found = {c.name for c in measure(profile, columns(frame(rng, 1000, shifted=3)), rows=1000).drifted}
        detections += found >= SHIFTED
    return alarms, detections
