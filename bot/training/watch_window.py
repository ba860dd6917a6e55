"""Where a production window comes from: the newest file a path or glob matches, or the team's command.

Production data usually lives outside the repository, so `watch.data` is a path or glob the job can
read (relative ones resolve in the project directory) — unlike `data.train`/`data.eval`, which must
stay inside the checkout. `watch.command` runs in the project directory (the default branch's
checkout, trusted like `mlbot.yaml` itself) and writes the window to `$MLBOT_WATCH_OUTPUT`, as CSV
or Parquet (told apart by Parquet's magic bytes).
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.core.config import Project
from bot.core.errors import MlbotError, UsageError

OUTPUT_ENV = "MLBOT_WATCH_OUTPUT"
COMMAND_TIMEOUT = 3600


def newest_match(pattern: str, root: Path) -> Path:
    """The most recently modified file `pattern` matches (ties: the last name)."""
    full = pattern if os.path.isabs(pattern) else str(root / pattern)
    files = [Path(p) for p in glob.glob(os.path.expanduser(full), recursive=True) if Path(p).is_file()]
    if not files:
        raise UsageError(f"mlbot.yaml: watch.data: {pattern!r} matches no file",
                         hint="point it at the production data this job can read (a path or glob)")
    return max(files, key=lambda p: (p.stat().st_mtime, p.name))


def read_table(path: Path, key: str) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame; a failure names the file and the key it came from."""
    try:
        with path.open("rb") as handle:
            parquet = handle.read(4) == b"PAR1"
        return pd.read_parquet(path) if parquet else pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"mlbot.yaml: {key}: {path} cannot be read as CSV or Parquet ({error})",
                         hint="write the window as a CSV file with a header row or as Parquet") from None


def run_command(project: Project, command: str, progress: Any) -> pd.DataFrame:
    """Run `watch.command` with $MLBOT_WATCH_OUTPUT set; read what it wrote."""
    from bot.training.fit import stream

    with tempfile.TemporaryDirectory(prefix="mlbot-watch-") as tmp:
        output = Path(tmp) / "window"
        env = {**os.environ, OUTPUT_ENV: str(output)}
        progress(f"running `{command}` in {project.root}")
        code, tail = stream(["/bin/sh", "-c", command], project.root, env, progress)
        if code != 0:
            raise MlbotError(f"mlbot.yaml: watch.command: `{command}` exited with code {code}"
                             + (f" ({tail[-1]})" if tail else ""), hint="run it by hand in the project directory")
        if not output.is_file():
            raise MlbotError(f"mlbot.yaml: watch.command: `{command}` finished but wrote nothing to "
                             f"${OUTPUT_ENV}", hint=f"write the window (CSV or Parquet) to the path in ${OUTPUT_ENV}")
        return read_table(output, "watch.command")


def read_window(project: Project, override: Path | None, progress: Any) -> tuple[pd.DataFrame, str]:
    """The window and where it came from (`--window` overrides mlbot.yaml)."""
    watch = project.config.watch
    if override is not None:
        return read_table(override, "--window"), str(override)
    assert watch is not None
    if watch.command:
        return run_command(project, watch.command, progress), f"`{watch.command}`"
    path = newest_match(watch.data or "", project.root)
    progress(f"reading the window {path}")
    return read_table(path, "watch.data"), str(path)


def as_columns(frame: pd.DataFrame) -> dict[str, np.ndarray[Any, Any]]:
    """Column name → numpy array: numbers as float64 (NaN missing), everything else as objects."""
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name in frame.columns:
        series = frame[name]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        out[str(name)] = (series.to_numpy(dtype=np.float64, na_value=np.nan) if numeric
                          else series.astype(object).where(series.notna(), None).to_numpy(dtype=object))
    return out
