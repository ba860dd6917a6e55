"""Bounded retries for GitHub calls: 5xx, primary and secondary rate limits, dropped connections.

PyGithub's own retry (`GithubRetry`) is switched off on purpose: it waits 60 s on a secondary rate
limit without `Retry-After` and its bounds are global to the urllib3 pool. Here every call gets
at most `attempts` tries and at most `max_wait` seconds of sleeping, whatever GitHub asks for;
when GitHub asks for more, we give up at once with a `Transient` error that says when to try again
(the queue then retries the whole job with its own, longer bounds).
See https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from github.GithubException import GithubException

from bot.core.errors import Transient

T = TypeVar("T")
log = logging.getLogger("mlbot.github")

ORDINALS = {1: "once", 2: "twice", 3: "three times"}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: `attempts` in all, backoff from `base_delay`, at most `max_wait` s asleep."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_wait: float = 120.0
    secondary_delay: float = 60.0  # GitHub: wait at least a minute when no Retry-After is given
    jitter: float = 0.1
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1-based), without a server hint."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay * (1 + self.jitter * random.random())


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def is_rate_limited(error: GithubException) -> bool:
    """Tell whether a 403/429 is a rate limit (primary or secondary) rather than a refusal."""
    if error.status == 429:
        return True
    if error.status != 403:
        return False
    if _header(error.headers, "retry-after") is not None:
        return True
    if _header(error.headers, "x-ratelimit-remaining") == "0":
        return True
    message = str((error.data or {}).get("message", "") if isinstance(error.data, dict) else "").lower()
    return "rate limit" in message


def server_wait(error: GithubException, policy: RetryPolicy, attempt: int) -> float | None:
    """How long GitHub wants us to wait before retrying, or None when retrying cannot help."""
    retry_after = _number(_header(error.headers, "retry-after"))
    if error.status >= 500:
        return retry_after if retry_after is not None else policy.backoff(attempt)
    if not is_rate_limited(error):
        return None
    if retry_after is not None:
        return max(0.0, retry_after)
    reset = _number(_header(error.headers, "x-ratelimit-reset"))
    if _header(error.headers, "x-ratelimit-remaining") == "0" and reset is not None:
        return max(0.0, reset - policy.clock()) + 1.0
    return max(policy.secondary_delay, policy.backoff(attempt))


def _times(n: int) -> str:
    return ORDINALS.get(n, f"{n} times")


def call_with_retries(what: str, fn: Callable[[], T], policy: RetryPolicy,
                      recover: Callable[[], T | None] | None = None) -> T:
    """Run `fn`, retrying transient GitHub failures within the policy's bounds.

    Errors that retrying cannot fix (4xx other than rate limits) are re-raised unchanged so the
    caller can translate them; exhausted retries become a `Transient` naming `what`, so the queue
    retries the whole job later. `recover` makes a create idempotent: after a failure GitHub may
    have acted on (5xx, a lost connection) and before trying again, it looks for what the lost
    attempt made; what it finds is returned instead of creating a second one.
    """
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except GithubException as error:
            wait = server_wait(error, policy, attempt)
            if wait is None:
                raise
            status: int | None = error.status
            failed = f"GitHub answered {error.status} to {what}"
            maybe_done = error.status >= 500
        except (requests.ConnectionError, requests.Timeout) as error:
            wait, status, maybe_done = policy.backoff(attempt), None, True
            failed = f"GitHub did not answer {what} ({type(error).__name__})"
        if maybe_done and recover is not None:
            found = _recovered(what, failed, recover)
            if found is not None:
                return found
        lost = LostAnswer if maybe_done and recover is not None else Transient
        if attempt >= policy.attempts:
            raise lost(f"{failed} {_times(attempt)}; giving up for now", dependency="GitHub",
                       retry_after=wait, status=status,
                       hint="I will retry the job later; check githubstatus.com if it persists")
        if waited + wait > policy.max_wait:
            raise lost(
                f"{failed}; the next try would have to wait {wait:.0f} s, past the "
                f"{policy.max_wait:.0f} s allowed per call, so I am giving up for now",
                dependency="GitHub", retry_after=wait, status=status,
                hint="I will retry the job later, once the rate limit resets",
            )
        log.warning("%s; retrying in %.2f s (attempt %d of %d)", failed, wait, attempt, policy.attempts)
        policy.sleep(wait)
        waited += wait


class LostAnswer(Transient):
    """A create gave up after GitHub may have done it: the next try of the same create must look first."""


def _recovered(what: str, failed: str, recover: Callable[[], T | None]) -> T | None:
    """What a lost attempt of `what` made, or None; when looking fails too, creating again could
    duplicate it, so give up for now (`LostAnswer`) and let the job's next try look again."""
    try:
        found = recover()
    except (GithubException, requests.RequestException) as error:
        raise LostAnswer(f"{failed}, and I could not look whether it was done ({error}); giving up for now",
                         dependency="GitHub", status=getattr(error, "status", None),
                         hint="I will retry the job later and look again before creating anything") from None
    if found is not None:
        log.warning("%s lost its answer but GitHub had done it; reusing the result", what)
    return found
