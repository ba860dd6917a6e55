"""The intent journal's tags, pure: what is written is what is read back, marks included."""

from __future__ import annotations

import json

from bot.adapters.mlflow import journal
from bot.ports import PromotionIntent

INTENT = PromotionIntent(model="churn", seq=7, action="promote", alias="production", version="4", previous="3",
                         at="2026-12-06T01:00:00+00:00", by="alice", reason="merged #12", pr=12, sha="a" * 40,
                         run_id="r1", effects={"deployment": False, "comment": False},
                         details={"repo": "acme/churn", "ref": "b" * 40})


def tags_of(intent: PromotionIntent, **marks: str) -> dict[str, str]:
    return {journal.key(intent.seq): journal.encode(intent), "mlbot.ledger.000006": "{}",
            **{journal.effect_key(intent.seq, name): value for name, value in marks.items()}}


def test_an_intent_reads_back_as_written_with_its_effect_marks() -> None:
    assert journal.read("churn", tags_of(INTENT)) == [INTENT]
    [marked] = journal.read("churn", tags_of(INTENT, deployment=journal.DONE))
    assert marked.pending == ["comment"] and not journal.finished(marked)
    assert journal.keys_of(INTENT) == ["mlbot.intent.000007", "mlbot.intent.000007.deployment",
                                       "mlbot.intent.000007.comment"]


def test_the_tag_names_the_steps_and_an_unknown_field_is_not_fatal() -> None:
    data = json.loads(journal.encode(INTENT))
    assert data["steps"] == ["alias", "version-tags", "ledger", "previous-alias"]
    data["added_later"] = 1
    assert journal.read("churn", {journal.key(7): json.dumps(data)}) == [INTENT]


def test_a_damaged_intent_is_skipped_and_the_ledger_entry_is_the_intents() -> None:
    assert journal.read("churn", {journal.key(8): "{not json", **tags_of(INTENT)}) == [INTENT]
    entry = journal.entry(INTENT)
    assert (entry.seq, entry.version, entry.previous, entry.at, entry.pr) == (7, "4", "3", INTENT.at, 12)
    assert journal.finished(journal.done(INTENT)) is False  # effects still owed
    assert journal.finished(journal.done(PromotionIntent(**{**INTENT.__dict__, "effects": {}}))) is True
