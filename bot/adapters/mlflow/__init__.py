"""The MLflow adapter: the only package that imports mlflow (lazily, so importing it is cheap).

`runs` (tracking: log and read training runs), `probe` (the run-cache lookup without importing
mlflow), `registry` (register, promote, rollback, ledger). This module holds what they share:
connecting, and turning MLflow's failures into one-sentence errors: `Transient` when MLflow (or
its database) cannot be reached — the queue retries the job later — and `TrackerError` otherwise.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.core.errors import MlbotError, TrackerError, Transient

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
        raise Transient(f"MLflow at {tracking_uri} is unreachable ({reason})", dependency="MLflow",
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
        message = f"MLflow at {tracking_uri} failed to {action}: {first_line}"
        if is_unavailable(error):
            raise Transient(message, dependency="MLflow", hint=UNREACHABLE_HINT) from error
        raise TrackerError(message, hint=UNREACHABLE_HINT) from error


def _is_tracker_failure(error: Exception) -> bool:
    names = {cls.__module__.split(".")[0] for cls in type(error).__mro__}
    return bool(names & {"mlflow", "sqlalchemy", "requests", "urllib3"}) or isinstance(error, OSError)


# MLflow's REST client reports a server it could not reach, or a 5xx, as an MlflowException with
# one of these codes or this wording; SQL stores report a database that is down or locked as
# SQLAlchemy's OperationalError.
_UNAVAILABLE_CODES = {"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"}  # not INTERNAL_ERROR: the default
_UNAVAILABLE_TYPES = {"ConnectionError", "Timeout", "OperationalError", "MaxRetryError", "NewConnectionError",
                      "DisconnectionError", "TimeoutError", "ConnectTimeout", "ReadTimeout"}


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` means MLflow could not be reached or answered 5xx (retrying later may work)."""
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    if {cls.__name__ for cls in type(error).__mro__} & _UNAVAILABLE_TYPES:
        return True
    if getattr(error, "error_code", None) in _UNAVAILABLE_CODES:
        return True
    text = str(error)
    if "API request to" in text and any(w in text for w in ("failed with exception", "Max retries exceeded",
                                                             "failed with error code 5")):
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and is_unavailable(cause)
