"""The MLflow adapter: the only package that imports mlflow (lazily, so importing it is cheap).

`runs` (tracking: log and read training runs), `probe` (the run-cache lookup without importing
mlflow), `registry` (register, promote, rollback, ledger). This module holds what they share:
connecting, and turning MLflow's failures into one-sentence `TrackerError`s.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.core.errors import MlbotError, TrackerError

HEALTH_TIMEOUT_S = 5.0
UNREACHABLE_HINT = "start the MLflow tracking server, or set MLFLOW_TRACKING_URI to a reachable store"


def is_http(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))


def ping(tracking_uri: str, timeout: float = HEALTH_TIMEOUT_S) -> None:
    """Fail fast when an MLflow server does not answer (mlflow's own client retries for minutes)."""
    if not is_http(tracking_uri):
        return
    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read(64)
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TrackerError(f"MLflow at {tracking_uri} is unreachable ({reason})",
                           hint=UNREACHABLE_HINT) from None


def connect(tracking_uri: str) -> Any:
    """An `MlflowClient` for `tracking_uri`, after checking a server answers."""
    ping(tracking_uri)
    import mlflow
    from mlflow.tracking import MlflowClient

    # mlflow logs store migrations and pickle advice at INFO/WARNING; our CLI prints its own progress.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(tracking_uri)  # the fluent API (log_model) reads the global URI
    return MlflowClient(tracking_uri=tracking_uri)


@contextmanager
def tracker_errors(tracking_uri: str, action: str) -> Iterator[None]:
    """Turn MLflow, database and network failures while doing `action` into a TrackerError."""
    try:
        yield
    except MlbotError:
        raise
    except Exception as error:
        if not _is_tracker_failure(error):
            raise
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise TrackerError(f"MLflow at {tracking_uri} failed to {action}: {first_line}",
                           hint=UNREACHABLE_HINT) from error


def _is_tracker_failure(error: Exception) -> bool:
    names = {cls.__module__.split(".")[0] for cls in type(error).__mro__}
    return bool(names & {"mlflow", "sqlalchemy", "requests", "urllib3"}) or isinstance(error, OSError)
