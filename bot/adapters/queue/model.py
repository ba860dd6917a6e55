"""The values the durable queue stores and reports, and the store Protocol both backends implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

State = Literal["queued", "running", "retrying", "done", "failed", "dead"]
STATES: tuple[State, ...] = ("queued", "running", "retrying", "done", "failed", "dead")
GIVEN_UP: tuple[State, ...] = ("failed", "dead")  # listed as dead letters; `requeue` puts them back


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook delivery (or internal job): its id, event name and JSON body."""

    id: str
    event: str
    body: bytes
    received_at: float = 0.0
    attempts: int = 0  # claims so far, this one included
    retries: int = 0  # claims that do not count toward max_attempts (transient retries, before a requeue)
    retry_since: float = 0.0  # when the current run of transient failures began (0: none)


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that failed, kept failing or is waiting to retry: visible, with its last error."""

    id: str
    event: str
    attempts: int
    error: str
    updated_at: float
    state: State = "dead"
    next_at: float = 0.0  # when a `retrying` delivery is tried again


@dataclass(frozen=True)
class Status:
    """Where one delivery stands: its state, claims, last error and (retrying) the next attempt time."""

    state: State
    attempts: int
    error: str
    next_at: float
    retries: int
    retry_since: float


class DeliveryStore(Protocol):
    """The durable record of deliveries and their states (SQLite or Redis)."""

    def accept(self, deliveries: Sequence[Delivery], now: float, due: float) -> list[bool]:
        """Store new deliveries atomically; False for an id already stored (a duplicate)."""
        ...

    def claim(self, delivery_id: str, now: float, lease_until: float, holder: str = "") -> Delivery | None:
        """Mark a queued, retrying (or lease-expired running) delivery running by `holder` (place:pid);
        None when not claimable."""
        ...

    def running(self, holder_prefix: str) -> list[tuple[str, int, str]]:
        """(id, attempt, holder) of the running deliveries whose holder starts with `holder_prefix`."""
        ...

    def expire(self, delivery_id: str, attempt: int, now: float) -> bool:
        """End the lease of a running delivery still held by `attempt` (its holder died): claimable now."""
        ...

    def settle(self, delivery_id: str, attempt: int, state: State, error: str, now: float,
               due: float) -> bool:
        """Move a running delivery, still held by `attempt`, to `state`; False when it was taken over.

        `retrying` also counts the claim as a retry and starts the retry clock if it is not running.
        """
        ...

    def requeue(self, delivery_id: str, now: float) -> bool:
        """Put a failed, dead or retrying delivery back in the queue now, with fresh bounds; False otherwise."""
        ...

    def status(self, delivery_id: str) -> Status | None:
        """Where one delivery stands, or None when unknown."""
        ...

    def listing(self, states: Sequence[State], limit: int) -> list[DeadLetter]:
        """Deliveries in these states, most recently changed first."""
        ...

    def renew(self, held: Sequence[tuple[str, int]], lease_until: float) -> None:
        """Extend the leases of running deliveries still held by these (id, attempt) pairs."""
        ...

    def due(self, now: float, limit: int) -> list[str]:
        """Ids of queued/running/retrying deliveries nobody has looked at since their due time."""
        ...

    def postpone(self, delivery_ids: Sequence[str], due: float) -> None:
        """Push the reaper's next look at these deliveries to `due`."""
        ...

    def state(self, delivery_id: str) -> tuple[State, int, str] | None:
        """The state, attempts and last error of one delivery."""
        ...

    def counts(self) -> dict[State, int]:
        """How many deliveries are in each state."""
        ...

    def close(self) -> None: ...
