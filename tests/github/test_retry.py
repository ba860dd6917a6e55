"""The retry policy, table-driven with a recording sleep and a fixed clock (pure, no HTTP)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from github.GithubException import GithubException

from bot.adapters.github.retry import RetryPolicy, call_with_retries
from bot.core.errors import Transient

NOW = 1_700_000_000.0


def policy(slept: list[float], **overrides: float) -> RetryPolicy:
    settings = {"attempts": 4, "base_delay": 0.5, "max_delay": 4.0, "max_wait": 30.0, "jitter": 0.0,
                "secondary_delay": 60.0, **overrides}
    return RetryPolicy(sleep=slept.append, clock=lambda: NOW, **settings)  # type: ignore[arg-type]


def failing(errors: list[Exception], result: str = "ok") -> Callable[[], str]:
    """A call that raises the given errors in turn, then returns `result`."""
    pending = list(errors)

    def call() -> str:
        if pending:
            raise pending.pop(0)
        return result
    return call


def gh(status: int, message: str = "", **headers: str) -> GithubException:
    return GithubException(status, {"message": message}, {k.replace("_", "-"): v for k, v in headers.items()})


@pytest.mark.parametrize(("error", "expected_sleep"), [
    (gh(502, "Bad Gateway"), [0.5]),
    (gh(503, retry_after="2"), [2.0]),
    (gh(403, "You have exceeded a secondary rate limit", retry_after="3"), [3.0]),
    (gh(429, "too many", retry_after="0"), [0.0]),
    (gh(403, "API rate limit exceeded", x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) + 10)),
     [11.0]),
    (requests.ConnectionError("reset by peer"), [0.5]),
])
def test_transient_failures_are_retried_after_the_wait_github_asks_for(
    error: Exception, expected_sleep: list[float]
) -> None:
    slept: list[float] = []
    assert call_with_retries("GET /x", failing([error]), policy(slept)) == "ok"
    assert slept == expected_sleep


def test_backoff_doubles_up_to_the_cap() -> None:
    slept: list[float] = []
    call_with_retries("GET /x", failing([gh(500)] * 5), policy(slept, attempts=6))
    assert slept == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_secondary_limit_without_retry_after_waits_the_configured_minimum() -> None:
    slept: list[float] = []
    error = gh(403, "You have exceeded a secondary rate limit. "
                    "Please wait a few minutes before you try again.")
    call_with_retries("POST /x", failing([error]), policy(slept, secondary_delay=0.25))
    assert slept == [0.5]  # the larger of the secondary minimum and the backoff


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_refusals_are_not_retried(status: int) -> None:
    slept: list[float] = []
    with pytest.raises(GithubException) as raised:
        call_with_retries("GET /x", failing([gh(status, "nope")]), policy(slept))
    assert raised.value.status == status
    assert slept == []


def test_a_permanent_502_ends_in_a_transient_error_after_the_attempts() -> None:
    slept: list[float] = []
    calls: list[int] = []

    def always_502() -> str:
        calls.append(1)
        raise gh(502, "Bad Gateway")
    with pytest.raises(Transient) as raised:
        call_with_retries("PATCH /repos/o/r/issues/comments/5", always_502, policy(slept, attempts=3))
    assert len(calls) == 3
    assert raised.value.status == 502
    assert raised.value.message == (
        "GitHub answered 502 to PATCH /repos/o/r/issues/comments/5 three times; giving up for now")
    assert slept == [0.5, 1.0]


def test_a_wait_beyond_the_budget_fails_at_once_instead_of_hanging() -> None:
    slept: list[float] = []
    reset = str(int(NOW) + 3600)
    error = gh(403, "API rate limit exceeded", x_ratelimit_remaining="0", x_ratelimit_reset=reset)
    with pytest.raises(Transient) as raised:
        call_with_retries("GET /x", failing([error]), policy(slept))
    assert slept == []
    assert raised.value.status == 403
    assert raised.value.message == (
        "GitHub answered 403 to GET /x; the next try would have to wait 3601 s, past the 30 s allowed "
        "per call, so I am giving up for now")


def test_the_total_wait_is_bounded_across_attempts() -> None:
    slept: list[float] = []
    errors = [gh(503, retry_after="12")] * 5
    with pytest.raises(Transient):
        call_with_retries("GET /x", failing(errors), policy(slept, attempts=10))
    assert slept == [12.0, 12.0]  # a third 12 s would pass the 30 s budget


def test_after_a_5xx_a_create_first_looks_for_what_the_lost_attempt_made() -> None:
    slept: list[float] = []
    looked: list[int] = []

    def find() -> str | None:
        looked.append(1)
        return "made by the first try"
    assert call_with_retries("POST /x", failing([gh(502)], "a second one"), policy(slept), find) == (
        "made by the first try")
    assert looked == [1] and slept == []


def test_a_rate_limit_is_not_a_lost_answer_so_nothing_is_looked_up() -> None:
    slept: list[float] = []
    looked: list[int] = []
    error = gh(403, "You have exceeded a secondary rate limit", retry_after="1")
    assert call_with_retries("POST /x", failing([error]), policy(slept),
                             lambda: looked.append(1)) == "ok"  # type: ignore[func-returns-value]
    assert looked == [] and slept == [1.0]


def test_exhausted_retries_tell_the_queue_how_long_to_wait() -> None:
    slept: list[float] = []
    error = gh(403, "API rate limit exceeded", x_ratelimit_remaining="0", x_ratelimit_reset=str(int(NOW) + 600))
    with pytest.raises(Transient) as raised:
        call_with_retries("GET /x", failing([error]), policy(slept))
    assert (raised.value.dependency, raised.value.retry_after) == ("GitHub", 601.0)
