"""`MlflowTracker`: the `ports.Tracker` the CLI and the handlers use, over one tracking store."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from bot.adapters.mlflow import tracker_errors
from bot.adapters.mlflow.runs import RunStore, nothing_to_snooze
from bot.core.errors import NotFound
from bot.core.judge.table import PredictionTable
from bot.core.types import Snooze
from bot.core.watch_report import WatchSummary
from bot.ports import Effect, LedgerEntry, ModelVersionRef, Promotion, PromotionIntent, RunRecord

if TYPE_CHECKING:
    from bot.adapters.mlflow.registry import Registry


def store_exists(tracking_uri: str) -> bool:
    """False only for a SQLite store whose file is not there yet (servers and other stores: True)."""
    if not tracking_uri.startswith("sqlite:///"):
        return True
    return Path(unquote(tracking_uri.removeprefix("sqlite:///").split("?")[0])).exists()


class MlflowTracker:
    """Runs (read back for comparison) and the registry (promote, rollback, ledger).

    Importing this module does not import mlflow; the first call does.
    """

    def __init__(self, tracking_uri: str, *, lock_dir: Path | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.runs = RunStore(tracking_uri)
        self.lock_dir = lock_dir
        self._registry: Registry | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from bot.adapters.mlflow.registry import Registry

            self._registry = Registry(self.runs.client, tracking_uri=self.tracking_uri,
                                      lock_dir=self.lock_dir)
        return self._registry

    def find_run(self, experiment: str, sha: str) -> str | None:
        """The newest finished run of `sha` (full or a prefix) in `experiment`, reused ones included, or None."""
        return self.runs.find_run_of_sha(experiment, sha)

    def load_run_record(self, run_id: str) -> RunRecord:
        return self.runs.load_run_record(run_id)

    def load_predictions(self, run_id: str) -> PredictionTable:
        return self.runs.load_predictions(run_id)

    def load_profile(self, run_id: str) -> dict[str, Any] | None:
        try:
            return self.runs.load_profile(run_id)
        except NotFound:
            return None

    def production_version(self, model: str, alias: str = "production") -> ModelVersionRef | None:
        with tracker_errors(self.tracking_uri, f"look up {model}@{alias}"):
            return self.registry.production(model, alias)

    def promote(
        self, model: str, run_id: str, *, by: str, alias: str = "production", reason: str = "",
        force: bool = False, pr: int | None = None, note: str = "", effects: tuple[Effect, ...] = (),
        details: Mapping[str, str] | None = None,
    ) -> Promotion:
        with tracker_errors(self.tracking_uri, f"promote run {run_id} of {model}"):
            return self.registry.promote(model, run_id, by=by, alias=alias, reason=reason, force=force, pr=pr,
                                         note=note, effects=effects, details=details)

    def rollback(
        self, model: str, *, by: str, reason: str, to: str | None = None, alias: str = "production",
        pr: int | None = None, effects: tuple[Effect, ...] = (), details: Mapping[str, str] | None = None,
    ) -> Promotion:
        with tracker_errors(self.tracking_uri, f"roll back {model}"):
            return self.registry.rollback(model, by=by, reason=reason, to=to, alias=alias, pr=pr, effects=effects,
                                          details=details)

    def recover(self, model: str | None = None) -> list[PromotionIntent]:
        """Finish interrupted moves of `model` (of every model when None); the intents with GitHub effects owed."""
        if not store_exists(self.tracking_uri):
            return []  # nothing was ever promoted; and creating the store here would race whoever creates it
        with tracker_errors(self.tracking_uri, f"recover interrupted promotions of {model or 'any model'}"):
            models = [model] if model is not None else self.registry.models_with_intents()
            return [intent for name in models for intent in self.registry.recover(name)]

    def mark_done(self, model: str, seq: int, effect: Effect) -> None:
        with tracker_errors(self.tracking_uri, f"record that the {effect} of {model} #{seq} is done"):
            self.registry.mark_done(model, seq, effect)

    def history(self, model: str) -> list[LedgerEntry]:
        with tracker_errors(self.tracking_uri, f"read the ledger of {model}"):
            return self.registry.history(model)

    # --- the production watch: the same reads as `mlbot watch` (RunStore), for the service --------

    def latest_watch(self, experiment: str, model: str, alias: str) -> tuple[WatchSummary, float] | None:
        if not store_exists(self.tracking_uri):
            return None  # no store yet, so no watch ever ran; reading must not create it
        return self.runs.latest_watch(experiment, model, alias)

    def watch_snooze(self, model: str, alias: str) -> Snooze | None:
        if not store_exists(self.tracking_uri):
            return None
        return self.runs.watch_snooze(model, alias)

    def snooze_watch(self, model: str, alias: str, snooze: Snooze | None) -> None:
        if not store_exists(self.tracking_uri):
            raise nothing_to_snooze(model)
        self.runs.snooze_watch(model, alias, snooze)
