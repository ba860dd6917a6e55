"""The known failures: each carries a sentence for the user and the next step.

One boundary (the CLI's `main`, the worker's job runner, the webhook edge) shows them; anything
that is not an `MlbotError` is unexpected and is logged with its traceback, never shown raw.
"""

from __future__ import annotations

from dataclasses import dataclass


class MlbotError(Exception):
    """A failure we know how to explain: `message` says what, `hint` says what to do next."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


@dataclass(frozen=True)
class Problem:
    """One problem in a user file: `file: key: problem`."""

    file: str
    key: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.problem}"


class ConfigError(MlbotError):
    """`mlbot.yaml` or a policy is broken; lists every problem found, one sentence each."""

    exit_code = 2

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems), hint=hint)


class UsageError(MlbotError):
    """The command line itself is wrong (missing option, bad value)."""

    exit_code = 2


class PromotionRefused(MlbotError):
    """The registry did not move: gates, authorization, or a missing reason."""

    exit_code = 1


class StaleBaseline(PromotionRefused):
    """Production moved since the candidate was evaluated; the comparison no longer holds."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "re-run training so the candidate is compared with the "
                                               "current production model")


class TrainingFailed(MlbotError):
    """The user's training code or data failed; `log_tail` holds the end of its output."""

    def __init__(self, message: str, *, hint: str | None = None, log_tail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.log_tail = log_tail


class TrackerError(MlbotError):
    """MLflow is unreachable or answered something we cannot use."""


class NotFound(MlbotError):
    """A run, version or pull request that was asked for does not exist."""

    exit_code = 2


class ForgeError(MlbotError):
    """GitHub (or the sandbox) refused or failed a call, after retries."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ShuttingDown(Exception):
    """The process is stopping: the job was cut short and goes back to the queue to run again.

    Deliberately not an MlbotError: the queue retries it instead of failing it.
    """


class Transient(MlbotError):
    """A dependency is unavailable for now (GitHub 5xx or rate limit, MLflow unreachable); later may work.

    The queue retries a job that raised it with backoff, bounded in time, instead of failing it;
    `dependency` names what was down ("GitHub", "MLflow"), `retry_after` how long it asked us to wait.
    `mlbot evaluate --tempfail-exit` exits with TEMPFAIL (75, sysexits' EX_TEMPFAIL) on it, so the
    local runner that ran it knows to try again later; every other command keeps exit code 1.
    """

    TEMPFAIL = 75

    def __init__(self, message: str, *, dependency: str, retry_after: float | None = None,
                 status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.dependency = dependency
        self.retry_after = retry_after
        self.status = status
