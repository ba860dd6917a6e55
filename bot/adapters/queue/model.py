"""The values the durable queue stores and reports, and the store Protocol both backends implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

State = Literal["queued", "running", "done", "failed", "dead"]
STATES: tuple[State, ...] = ("queued", "running", "done", "failed", "dead")


@dataclass(frozen=True)
class Delivery:
    """One accepted webhook delivery (or internal job): its id, event name and JSON body."""

    id: str
    event: str
    body: bytes
    received_at: float = 0.0
    attempts: int = 0  # claims so far, this one included


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that kept failing: visible, with its last error, never dropped silently."""

    id: str
    event: str
    attempts: int
    error: str
    updated_at: float


class DeliveryStore(Protocol):
    """The durable record of deliveries and their states (SQLite or Redis)."""

    def accept(self, deliveries: Sequence[Delivery], now: float, due: float) -> list[bool]:
        """Store new deliveries atomically; False for an id already stored (a duplicate)."""
        ...

    def claim(self, delivery_id: str, now: float, lease_until: float) -> Delivery | None:
        """Mark a queued (or lease-expired running) delivery running; None when not claimable."""
        ...

    def settle(self, delivery_id: str, attempt: int, state: State, error: str, now: float,
               due: float) -> bool:
        """Move a running delivery, still held by `attempt`, to `state`; False when it was taken over."""
        ...

    def renew(self, held: Sequence[tuple[str, int]], lease_until: float) -> None:
        """Extend the leases of running deliveries still held by these (id, attempt) pairs."""
        ...

    def due(self, now: float, limit: int) -> list[str]:
        """Ids of queued/running deliveries nobody has looked at since their due time."""
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

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        """The most recent dead deliveries, newest first."""
        ...

    def close(self) -> None: ...
