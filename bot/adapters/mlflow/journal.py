"""The intent journal: a promotion or rollback written down before anything moves, as model tags.

`mlbot.intent.NNNNNN` (NNNNNN: the ledger sequence number the move takes) holds the intent as
compact JSON; `mlbot.intent.NNNNNN.<effect>` = `done` marks each GitHub side effect the caller
finished (one tag each, so marking two effects at once cannot lose either). The registry drops
an intent's tags once its registry steps and every effect are done; one left behind means a
process stopped half-way, and the next move of that model (or `recover`) finishes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields, replace

from bot.ports import LedgerEntry, PromotionIntent

PREFIX = "mlbot.intent."
DONE = "done"
STEPS = ("alias", "version-tags", "ledger", "previous-alias")  # the order every move takes, after the intent
KNOWN = {f.name for f in fields(PromotionIntent)} - {"model", "seq", "effects"}


def key(seq: int) -> str:
    """The tag holding intent `seq`."""
    return f"{PREFIX}{seq:06d}"


def effect_key(seq: int, effect: str) -> str:
    """The tag saying GitHub side effect `effect` of intent `seq` is done."""
    return f"{key(seq)}.{effect}"


def encode(intent: PromotionIntent) -> str:
    """The intent as compact JSON; effects by name only (their done flags are tags of their own)."""
    data = asdict(intent)
    data.pop("model")
    data["effects"] = list(intent.effects)
    data["steps"] = list(STEPS)  # for people reading the tag in MLflow's UI
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def decode(model: str, seq: int, text: str, tags: Mapping[str, str]) -> PromotionIntent | None:
    """Parse one intent tag with its effect tags; a damaged one is skipped (and reported by the caller)."""
    try:
        data = json.loads(text)
        effects = {str(name): tags.get(effect_key(seq, str(name))) == DONE for name in data.get("effects", [])}
        known = {k: v for k, v in data.items() if k in KNOWN}  # a field a newer mlbot added is skipped, not fatal
        return PromotionIntent(model=model, seq=seq, effects=effects, **known)
    except (ValueError, KeyError, TypeError):
        return None


def read(model: str, tags: Mapping[str, str]) -> list[PromotionIntent]:
    """Every intent among a registered model's tags, oldest first."""
    found = []
    for name, value in tags.items():
        rest = name[len(PREFIX):] if name.startswith(PREFIX) else ""
        if rest.isdigit():
            intent = decode(model, int(rest), value, tags)
            if intent is not None:
                found.append(intent)
    return sorted(found, key=lambda i: i.seq)


def finished(intent: PromotionIntent) -> bool:
    """Whether nothing is left to do: the registry moved and every GitHub side effect is done."""
    return intent.registry_done and not intent.pending


def keys_of(intent: PromotionIntent) -> list[str]:
    """Every tag an intent occupies."""
    return [key(intent.seq), *(effect_key(intent.seq, name) for name in intent.effects)]


def entry(intent: PromotionIntent) -> LedgerEntry:
    """The ledger entry the intent's move records (the same one however often it is written)."""
    return LedgerEntry(seq=intent.seq, action=intent.action, model=intent.model, version=intent.version,
                       previous=intent.previous, at=intent.at, by=intent.by, reason=intent.reason, sha=intent.sha,
                       pr=intent.pr, run_id=intent.run_id, forced=intent.forced, note=intent.note)


def done(intent: PromotionIntent) -> PromotionIntent:
    """The intent with its registry steps marked done."""
    return replace(intent, registry_done=True)
