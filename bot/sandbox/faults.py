"""Fault injection: answer matching requests with an error (or a delay) a given number of times.

`after: true` performs the request first and then answers the error: GitHub doing a write and the
client losing its answer (a 502 from a proxy, a timeout), the case idempotent creates exist for.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
DOCS = "https://docs.github.com/rest"


@dataclass
class Fault:
    """Fail `times` requests whose method and path match; status None only adds latency."""

    method: str = "*"
    path_regex: str = ".*"
    status: int | None = 502
    times: int = 1
    retry_after: int | None = None
    secondary_rate_limit: bool = False
    latency_ms: int = 0
    message: str | None = None
    after: bool = False  # do the write, then answer the error (the answer was lost)
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path_regex)
        if self.secondary_rate_limit and self.status is None:
            self.status = 403

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from the body of `POST /_sandbox/faults`."""
        allowed = {"method", "path_regex", "status", "times", "retry_after", "secondary_rate_limit",
                   "latency_ms", "message", "after"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self._pattern.search(path) is not None

    def answer(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The status, JSON body and headers to reply with."""
        status = self.status or 500
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        if self.secondary_rate_limit:
            return status, {"message": SECONDARY_RATE_LIMIT, "documentation_url": DOCS}, headers
        default = {502: "Server Error", 503: "Service Unavailable", 500: "Server Error"}.get(status, "Error")
        return status, {"message": self.message or default, "documentation_url": DOCS}, headers


class Faults:
    """The active faults; the first matching fault with hits left applies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.hits < f.times]

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one hit of the first fault matching this request."""
        with self._lock:
            for fault in self._faults:
                if fault.hits < fault.times and fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None
