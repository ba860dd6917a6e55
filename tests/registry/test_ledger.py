"""The ledger's pure parts: encoding round trip, ordering, and the rollback stack replay."""

from __future__ import annotations

import pytest

from bot.adapters.mlflow import ledger
from bot.ports import LedgerEntry


def entry(seq: int, action: str, version: str, previous: str | None) -> LedgerEntry:
    return LedgerEntry(seq=seq, action=action, model="m", version=version, previous=previous,  # type: ignore[arg-type]
                       at="2026-01-01T00:00:00+00:00", by="me")


def test_round_trip_and_order_skip_damaged_entries() -> None:
    first = LedgerEntry(seq=1, action="promote", model="m", version="1", previous=None, at="t", by="a",
                        reason="why", sha="f" * 40, pr=3, run_id="r", forced=True, note="n")
    tags = {ledger.tag_key(2): ledger.encode(entry(2, "rollback", "1", "2")), ledger.tag_key(1): ledger.encode(first),
            ledger.tag_key(3): "{not json", "mlbot.lock": "{}"}
    assert ledger.tag_key(1) == "mlbot.ledger.000001"
    read = ledger.read("m", tags)
    assert read[0] == first
    assert [e.seq for e in read] == [1, 2]
    assert ledger.next_entry(read, entry(0, "promote", "3", "1")).seq == 3
    assert ledger.next_entry([], entry(0, "promote", "1", None)).seq == 1


@pytest.mark.parametrize(("moves", "stack"), [
    ([], []),
    ([("promote", "1", None)], ["1"]),
    ([("promote", "1", None), ("promote", "2", "1"), ("promote", "3", "2")], ["1", "2", "3"]),
    # plain rollbacks walk back one step each
    ([("promote", "1", None), ("promote", "2", "1"), ("promote", "3", "2"), ("rollback", "2", "3")], ["1", "2"]),
    # a rollback to an older version undoes everything promoted after it
    ([("promote", "1", None), ("promote", "2", "1"), ("promote", "3", "2"), ("rollback", "1", "3")], ["1"]),
    # re-promoting an old version moves it to the top instead of duplicating it
    ([("promote", "1", None), ("promote", "2", "1"), ("promote", "1", "2")], ["2", "1"]),
    # rolling back --to a version that a previous rollback dropped brings it back, and the version it
    # left stays below it: a plain rollback afterwards returns there instead of finding nothing
    ([("promote", "1", None), ("promote", "2", "1"), ("rollback", "1", "2"), ("rollback", "2", "1")],
     ["1", "2"]),
])
def test_production_stack(moves: list[tuple[str, str, str | None]], stack: list[str]) -> None:
    entries = [entry(i + 1, *move) for i, move in enumerate(moves)]
    assert ledger.production_stack(entries) == stack
