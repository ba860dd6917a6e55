"""The journaled move of a registry alias: write the intent, do each idempotent step, finish or drop it.

`Registry` decides what to move (and refuses what it must); `Moves` does it, under the caller's
`ModelLock`, checking the lease's fence before every write. Steps, in order: `alias`,
`version-tags`, `ledger`, `previous-alias`; each writes the same values however often it runs, so
completing an interrupted move is running it again. See `journal.py` for the intent's tags.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from mlflow.exceptions import MlflowException

from bot.ports import Effect, Promotion, PromotionIntent

from . import journal, ledger
from .journal import STEPS
from .lock import ModelLock

PREVIOUS_ALIAS = "previous-production"
StepHook = Callable[[str], None]  # told the name of each step once it is done (crash tests stop there)
log = logging.getLogger("mlbot.registry")


class Moves:
    """Journaled, idempotent alias moves on one MLflow registry client."""

    def __init__(self, client: Any, step_hook: StepHook | None = None) -> None:
        self.client = client
        self.step_hook = step_hook

    def _tags(self, model: str) -> dict[str, str]:
        return dict(self.client.get_registered_model(model).tags or {})

    def _tag(self, model: str, version: str, values: dict[str, str]) -> None:
        for key, value in values.items():
            self.client.set_model_version_tag(model, version, key, value)

    def _set_previous(self, model: str, version: str | None) -> None:
        if version is not None:
            self.client.set_registered_model_alias(model, PREVIOUS_ALIAS, version)
            return
        with contextlib.suppress(MlflowException):  # there may be no previous-production to drop
            self.client.delete_registered_model_alias(model, PREVIOUS_ALIAS)

    def step(self, name: str) -> None:
        """Tell the step hook that `name` is done."""
        if self.step_hook is not None:
            self.step_hook(name)

    def next_seq(self, model: str) -> int:
        """The ledger number the next move takes (moves happen under the lock, so it is free)."""
        entries = ledger.read(model, self._tags(model))
        return entries[-1].seq + 1 if entries else 1

    def move(self, lock: ModelLock, intent: PromotionIntent) -> Promotion:
        """Journal `intent`, then do it step by step."""
        lock.check()
        self.client.set_registered_model_tag(intent.model, journal.key(intent.seq), journal.encode(intent))
        self.step("intent")
        intent = self.complete(lock, intent)
        return Promotion(intent.model, intent.alias, intent.version, intent.previous, changed=True,
                         entry=journal.entry(intent), intent=intent if intent.effects else None)

    def complete(self, lock: ModelLock, intent: PromotionIntent) -> PromotionIntent:
        """Do every registry step of `intent` (each idempotent), then mark it done or drop it."""
        model, version, previous, at = intent.model, intent.version, intent.previous, intent.at
        for step in STEPS:
            lock.check()  # the fence: a holder whose lease passed to someone else writes nothing more
            if step == "alias":
                self.client.set_registered_model_alias(model, intent.alias, version)
            elif step == "version-tags" and intent.action == "promote":
                values = {"mlbot.status": "production", "mlbot.promoted_at": at, "mlbot.promoted_by": intent.by,
                          "mlbot.reason": intent.reason, "mlbot.forced": str(intent.forced).lower()}
                for name, value in (("mlbot.sha", intent.sha), ("mlbot.pr", intent.pr), ("mlbot.replaced", previous)):
                    if value not in (None, ""):
                        values[name] = str(value)
                self._tag(model, version, values)
                if previous is not None:
                    self._tag(model, previous, {"mlbot.status": "replaced", "mlbot.replaced_by": version,
                                                "mlbot.replaced_at": at})
            elif step == "version-tags":
                if previous is not None:
                    self._tag(model, previous, {"mlbot.status": "rolled-back", "mlbot.rolled_back_at": at,
                                                "mlbot.rolled_back_by": intent.by,
                                                "mlbot.rollback_reason": intent.reason})
                self._tag(model, version, {"mlbot.status": "production"})
            elif step == "ledger":
                entry = journal.entry(intent)
                self.client.set_registered_model_tag(model, ledger.tag_key(entry.seq), ledger.encode(entry))
            elif intent.action == "promote":
                self._set_previous(model, previous)
            else:
                stack = ledger.production_stack(ledger.read(model, self._tags(model)))
                self._set_previous(model, stack[-2] if len(stack) >= 2 else None)
            self.step(step)
        intent = journal.done(intent)
        lock.check()
        if intent.effects:
            self.client.set_registered_model_tag(model, journal.key(intent.seq), journal.encode(intent))
        else:
            self.drop(intent)
        self.step("done")
        return intent

    def drop(self, intent: PromotionIntent) -> None:
        """Delete an intent's tags, its effect marks first (a mark must never outlive its intent)."""
        for name in reversed(journal.keys_of(intent)):
            with contextlib.suppress(MlflowException):  # an effect tag that was never written
                self.client.delete_registered_model_tag(intent.model, name)

    def recover(self, model: str, lock: ModelLock) -> list[PromotionIntent]:
        """Finish or drop the unfinished moves of `model`; return the intents whose effects are owed."""
        owed = []
        for intent in journal.read(model, self._tags(model)):
            if not intent.registry_done:
                moved = (self.client.get_registered_model(model).aliases or {}).get(intent.alias)
                if moved is not None and str(moved) == intent.version:
                    log.warning("completing the interrupted %s of %s v%s (ledger #%d)", intent.action, model,
                                intent.version, intent.seq)
                    intent = self.complete(lock, intent)
                else:  # the alias never moved: nothing happened that anyone could have seen
                    log.warning("dropping the interrupted %s of %s v%s: %s never moved to it", intent.action,
                                model, intent.version, intent.alias)
                    lock.check()
                    self.drop(intent)
                    continue
            if journal.finished(intent):
                self.drop(intent)
            else:
                owed.append(intent)
        return owed

    def mark_done(self, model: str, seq: int, effect: Effect) -> None:
        """Record that GitHub side effect `effect` of intent `seq` is done; drop the intent when all are."""
        found = [i for i in journal.read(model, self._tags(model)) if i.seq == seq and effect in i.effects]
        if not found:  # a mark without its intent could later pass for a new intent's effect
            log.warning("%s #%d owes no %s (done already, or never asked for)", model, seq, effect)
            return
        self.client.set_registered_model_tag(model, journal.effect_key(seq, effect), journal.DONE)
        finished = [i for i in journal.read(model, self._tags(model)) if i.seq == seq and journal.finished(i)]
        if finished:
            self.drop(finished[0])
