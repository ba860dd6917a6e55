"""The promotion ledger: append-only entries kept as registered-model tags `mlbot.ledger.NNNNNN`.

One tag per entry keeps every write small and independent; the zero-padded sequence number
orders them, and a single `get_registered_model` reads the whole history. Entries are only
appended while the model's lock is held, so sequence numbers never collide.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace

from bot.ports import LedgerEntry

LEDGER_PREFIX = "mlbot.ledger."


def tag_key(seq: int) -> str:
    """The registered-model tag key of entry `seq`."""
    return f"{LEDGER_PREFIX}{seq:06d}"


def encode(entry: LedgerEntry) -> str:
    """Serialize an entry as compact JSON (the model name is implied by where it is stored)."""
    data = asdict(entry)
    data.pop("model")
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def decode(model: str, key: str, text: str) -> LedgerEntry | None:
    """Parse one ledger tag; a damaged entry is skipped rather than hiding the rest."""
    try:
        data = json.loads(text)
        seq = int(key[len(LEDGER_PREFIX):])
        return LedgerEntry(
            seq=seq,
            action=data["action"],
            model=model,
            version=str(data["version"]),
            previous=None if data.get("previous") is None else str(data["previous"]),
            at=str(data["at"]),
            by=str(data["by"]),
            reason=str(data.get("reason") or ""),
            sha=data.get("sha"),
            pr=None if data.get("pr") is None else int(data["pr"]),
            run_id=data.get("run_id"),
            forced=bool(data.get("forced", False)),
            note=str(data.get("note") or ""),
        )
    except (ValueError, KeyError, TypeError):
        return None


def read(model: str, tags: Mapping[str, str]) -> list[LedgerEntry]:
    """Every ledger entry among a registered model's tags, oldest first."""
    entries = [
        decode(model, key, value) for key, value in tags.items() if key.startswith(LEDGER_PREFIX)
    ]
    return sorted((e for e in entries if e is not None), key=lambda e: e.seq)


def next_entry(entries: list[LedgerEntry], entry: LedgerEntry) -> LedgerEntry:
    """`entry` numbered after the last one in `entries`."""
    return replace(entry, seq=(entries[-1].seq + 1) if entries else 1)


def production_stack(entries: Iterable[LedgerEntry]) -> list[str]:
    """Replay the ledger into the versions a rollback walks back through, current last.

    A promotion pushes its version; a rollback to a version on the stack cuts everything above it;
    a rollback `--to` a version an earlier rollback undid pushes it, keeping the one it left below.
    """
    stack: list[str] = []
    for entry in entries:
        if entry.action == "promote":
            if entry.version in stack:
                stack.remove(entry.version)
            stack.append(entry.version)
        elif entry.version in stack:  # back to an earlier version: undo everything promoted after it
            del stack[stack.index(entry.version) + 1:]
        else:  # `--to` a version an earlier rollback undid: the one it left stays the way back
            stack.append(entry.version)
    return stack


def ever_promoted(entries: Iterable[LedgerEntry]) -> set[str]:
    """The versions that were production at some point."""
    return {e.version for e in entries}
