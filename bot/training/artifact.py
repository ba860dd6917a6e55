"""What fit hands to evaluate: `model.skops` plus `fit.json` (estimator, params, timing, versions).

Evaluate reads `fit.json` as untrusted input: every field is type-checked and bounded, and nothing
in it feeds a gate except `train_seconds`, which only the fit stage can measure.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.core.errors import MlbotError

FIT_FILE = "fit.json"
MAX_FIT_JSON_BYTES = 256_000
MAX_TEXT = 500


@dataclass(frozen=True)
class FitReport:
    """The fit stage's own account of what it fitted."""

    estimator: str
    params: dict[str, Any]
    train_seconds: float
    train_rows: int | None = None
    versions: dict[str, str] = field(default_factory=dict)


def write_report(output: Path, report: FitReport) -> Path:
    """Write `fit.json` into the fit stage's output directory."""
    target = output / FIT_FILE
    target.write_text(json.dumps(asdict(report), indent=1, sort_keys=True, default=str), encoding="utf-8")
    return target


def _refuse(output: Path, problem: str) -> MlbotError:
    return MlbotError(f"{output / FIT_FILE} {problem}; the fit stage's output was not used",
                      hint="run `mlbot fit --project DIR --output DIR` and pass that directory as --model")


def _text(value: Any) -> str:
    return str(value)[:MAX_TEXT]


def read_report(output: Path) -> FitReport:
    """Read and validate `fit.json`; raise MlbotError when it is missing or malformed."""
    path = output / FIT_FILE
    if not path.is_file():
        raise _refuse(output, "does not exist")
    if path.stat().st_size > MAX_FIT_JSON_BYTES:
        raise _refuse(output, f"is larger than {MAX_FIT_JSON_BYTES} bytes")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise _refuse(output, "is not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict):
        raise _refuse(output, "is not an object with params")
    seconds = raw.get("train_seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not math.isfinite(seconds) \
            or seconds < 0:
        raise _refuse(output, "has no valid train_seconds")
    rows = raw.get("train_rows")
    versions: dict[Any, Any] = raw["versions"] if isinstance(raw.get("versions"), dict) else {}
    params = {_text(k)[:250]: v if isinstance(v, int | float | bool) or v is None else _text(v)
              for k, v in raw["params"].items()}
    return FitReport(estimator=_text(raw.get("estimator", "command")), params=params,
                     train_seconds=float(seconds), train_rows=rows if isinstance(rows, int) else None,
                     versions={_text(k): _text(v) for k, v in versions.items()})
