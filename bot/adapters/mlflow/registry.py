"""The MLflow model registry: promote (register, stale check, move alias), rollback, history.

Aliases only (stages are deprecated). Every move happens under the model's `ModelLock` (a fenced
lease: `lock.check()` runs before each write) and is recorded twice: on the versions' tags
(`mlbot.status`, `mlbot.promoted_at`, ...) for people browsing MLflow, and in the append-only
ledger (`ledger.py`) that `mlbot history` reads. `previous-production` always names where a plain
rollback would go.

A move is journaled first (`journal.py`: what, by whom, which ledger number, which GitHub side
effects are owed), then done in idempotent steps: alias, version tags, ledger entry, previous-
production. A process killed between two steps leaves the intent behind; the next move of the
model, or `recover`, completes it when the alias moved and drops it when it did not, so the
alias, previous-production, version tags and ledger always end up agreeing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from bot.core.errors import NotFound, PromotionRefused, StaleBaseline, UsageError
from bot.ports import Effect, LedgerEntry, ModelVersionRef, Promotion, PromotionIntent

from . import journal, ledger
from .lock import ModelLock
from .moves import PREVIOUS_ALIAS, Moves, StepHook

__all__ = ["PREVIOUS_ALIAS", "Registry", "normalize_version"]


def _missing(error: MlflowException) -> bool:
    return bool(error.error_code == "RESOURCE_DOES_NOT_EXIST")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _label(version: str | None) -> str:
    return f"v{version}" if version else "no production model"


def normalize_version(text: str) -> str:
    """Accept `3` or `v3`; refuse anything else."""
    value = text.strip().lower().removeprefix("v")
    if not value.isdigit():
        raise UsageError(f"{text!r} is not a model version", hint="pass a version number such as 3 or v3")
    return str(int(value))


class Registry:
    """Registry operations on one MLflow backend, each serialized per model."""

    def __init__(
        self,
        client: MlflowClient,
        *,
        tracking_uri: str = "",
        lock_dir: Path | None = None,
        lock_wait: float = 60.0,
        lock_settle: float = 0.25,
        lock_ttl: float = 30.0,
        clock: Callable[[], str] = _now,
        step_hook: StepHook | None = None,
    ) -> None:
        self.client = client
        self.tracking_uri = tracking_uri
        self.lock_dir = lock_dir
        self.lock_wait, self.lock_settle, self.lock_ttl = lock_wait, lock_settle, lock_ttl
        self.clock = clock
        self.moves = Moves(client, step_hook)

    # --- reading ---------------------------------------------------------------------------

    def _model(self, model: str) -> Any:
        """The registered model (tags, aliases), or None when it does not exist."""
        try:
            return self.client.get_registered_model(model)
        except MlflowException as error:
            if _missing(error):
                return None
            raise

    def _ensure_model(self, model: str) -> None:
        if self._model(model) is None:
            try:
                self.client.create_registered_model(model, description="Managed by mlbot.")
            except MlflowException as error:
                if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                    raise

    def version(self, model: str, version: str) -> ModelVersionRef:
        """The registered version `version` of `model`."""
        try:
            mv = self.client.get_model_version(model, version)
        except MlflowException as error:
            if _missing(error):
                raise NotFound(f"{model} has no version {version}",
                               hint=f"run `mlbot history --model {model}` to see its versions") from None
            raise
        tags = mv.tags or {}
        return ModelVersionRef(model, str(mv.version), mv.run_id, tags.get("mlbot.sha"),
                               tags.get("mlbot.status"))

    def production(self, model: str, alias: str = "production") -> ModelVersionRef | None:
        """The version `alias` points at, or None before the first promotion."""
        registered = self._model(model)
        version = (registered.aliases or {}).get(alias) if registered is not None else None
        return None if version is None else self.version(model, str(version))

    def history(self, model: str) -> list[LedgerEntry]:
        """Every promotion and rollback of `model`, oldest first."""
        registered = self._model(model)
        if registered is None:
            raise NotFound(f"there is no registered model named {model}",
                           hint="check the model name in mlbot.yaml, or promote a first version")
        return ledger.read(model, registered.tags or {})

    # --- writing ---------------------------------------------------------------------------

    def _lock(self, model: str) -> ModelLock:
        return ModelLock(self.client, model, wait=self.lock_wait, settle=self.lock_settle, ttl=self.lock_ttl,
                         local_dir=self.lock_dir, tracking_uri=self.tracking_uri)

    def _run_tags(self, run_id: str) -> dict[str, str]:
        try:
            run = self.client.get_run(run_id)
        except MlflowException as error:
            if _missing(error):
                raise NotFound(f"there is no MLflow run {run_id}",
                               hint="check the run id, or pass --sha to find the run of a commit") from None
            raise
        if run.info.status != "FINISHED":
            raise PromotionRefused(f"run {run_id} is {run.info.status.lower()}, not finished",
                                   hint="promote a run whose training finished")
        return dict(run.data.tags)

    def _find_version(self, model: str, run_id: str, tags: dict[str, str]) -> str | None:
        """An existing version of this run, or of the same sha trained with the same cache key."""
        for version in self.client.search_model_versions(f"name = '{model}' and run_id = '{run_id}'"):
            return str(version.version)
        sha, key = tags.get("mlbot.sha"), tags.get("mlbot.cache_key")
        if sha and key:
            found = self.client.search_model_versions(f"name = '{model}' and tags.`mlbot.sha` = '{sha}'")
            for version in found:
                if (version.tags or {}).get("mlbot.cache_key") == key:
                    return str(version.version)
        return None

    def _register(self, model: str, run_id: str, tags: dict[str, str]) -> str:
        run = self.client.get_run(run_id)
        logged = self.client.search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
        )
        chosen = [m for m in logged if m.name == "model"] or list(logged)
        if not chosen:
            raise PromotionRefused(f"run {run_id} has no logged model to register",
                                   hint="promote a run made by `mlbot train`")
        model_id = chosen[0].model_id
        version_tags = {k: tags[k] for k in ("mlbot.sha", "mlbot.pr", "mlbot.cache_key") if tags.get(k)}
        created = self.client.create_model_version(
            model, source=f"models:/{model_id}", run_id=run_id, tags=version_tags, model_id=model_id
        )
        return str(created.version)

    def promote(
        self,
        model: str,
        run_id: str,
        *,
        by: str,
        alias: str = "production",
        reason: str = "",
        force: bool = False,
        pr: int | None = None,
        note: str = "",
        effects: tuple[Effect, ...] = (),
        details: Mapping[str, str] | None = None,
    ) -> Promotion:
        """Register the run's model (idempotently) and move `alias` to it, unless the baseline is stale.

        Gates are the caller's business (`bot.usecases.assess`); here `force` only allows a stale baseline.
        """
        tags = self._run_tags(run_id)
        if tags.get("mlbot.model") not in (None, model):
            raise PromotionRefused(f"run {run_id} was trained for model {tags['mlbot.model']}, not {model}",
                                   hint="check the model name in mlbot.yaml")
        baseline = tags.get("mlbot.baseline_version") or None
        pr = pr if pr is not None else (int(tags["mlbot.pr"]) if tags.get("mlbot.pr", "").isdigit() else None)
        self._ensure_model(model)
        with self._lock(model) as lock:
            self.moves.recover(model, lock)
            registered = self._model(model)
            current = (registered.aliases or {}).get(alias)
            current = None if current is None else str(current)
            existing = self._find_version(model, run_id, tags)
            if existing is not None and existing == current:
                owed = [i for i in journal.read(model, registered.tags or {})
                        if i.action == "promote" and i.version == existing]
                return Promotion(model, alias, existing, current, changed=False, intent=owed[-1] if owed else None)
            notes = [note] if note else []
            if current != baseline:
                moved = (f"production moved from {_label(baseline)} to {_label(current)} "
                         "since this run was evaluated")
                if not force:
                    raise StaleBaseline(moved)
                notes.append(f"{moved}; promoted anyway with --force")
            lock.check()
            version = existing or self._register(model, run_id, tags)
            self.moves.step("register")
            intent = PromotionIntent(
                model=model, seq=self.moves.next_seq(model), action="promote", alias=alias, version=version,
                previous=current, at=self.clock(), by=by, reason=reason, pr=pr, sha=tags.get("mlbot.sha"),
                run_id=run_id, forced=force, note="; ".join(notes), effects=dict.fromkeys(effects, False),
                details=dict(details or {}))
            return self.moves.move(lock, intent)

    def rollback(
        self, model: str, *, by: str, reason: str, to: str | None = None, alias: str = "production",
        pr: int | None = None, effects: tuple[Effect, ...] = (), details: Mapping[str, str] | None = None,
    ) -> Promotion:
        """Move `alias` back to the previously promoted version, or to `to` if it was promoted before."""
        if not reason.strip():
            raise UsageError("a rollback needs a reason", hint='pass --reason "why"')
        if self._model(model) is None:
            raise NotFound(f"there is no registered model named {model}",
                           hint="check the model name in mlbot.yaml")
        with self._lock(model) as lock:
            self.moves.recover(model, lock)
            registered = self._model(model)
            current = (registered.aliases or {}).get(alias)
            if current is None:
                raise PromotionRefused(f"{model} has no {alias} version to roll back",
                                       hint="promote a version first")
            current = str(current)
            entries = ledger.read(model, registered.tags or {})
            target = self._rollback_target(model, registered, entries, current, to)
            target_ref = self.version(model, target)  # refuse cleanly if the version was deleted
            intent = PromotionIntent(
                model=model, seq=self.moves.next_seq(model), action="rollback", alias=alias, version=target,
                previous=current, at=self.clock(), by=by, reason=reason, pr=pr, sha=target_ref.sha,
                run_id=target_ref.run_id, effects=dict.fromkeys(effects, False), details=dict(details or {}))
            return self.moves.move(lock, intent)

    def recover(self, model: str) -> list[PromotionIntent]:
        """Complete interrupted moves of `model` (under its lock); the intents whose GitHub effects are owed."""
        registered = self._model(model)
        intents = journal.read(model, registered.tags or {}) if registered is not None else []
        if all(i.registry_done for i in intents):  # nothing to repair: no lock needed
            return [i for i in intents if i.pending]
        with self._lock(model) as lock:
            return self.moves.recover(model, lock)

    def models_with_intents(self) -> list[str]:
        """The registered models that have a journaled intent."""
        return [str(m.name) for m in self.client.search_registered_models(max_results=1000)
                if any(name.startswith(journal.PREFIX) for name in (m.tags or {}))]

    def mark_done(self, model: str, seq: int, effect: Effect) -> None:
        """Record that GitHub side effect `effect` of intent `seq` is done."""
        self.moves.mark_done(model, seq, effect)

    def _rollback_target(
        self, model: str, registered: Any, entries: list[LedgerEntry], current: str, to: str | None
    ) -> str:
        if to is not None:
            target = normalize_version(to)
            if target == current:
                raise PromotionRefused(f"v{target} already is production", hint="nothing to roll back")
            if target not in ledger.ever_promoted(entries):
                raise PromotionRefused(f"v{target} of {model} was never promoted; I can only roll back to "
                                       "a version that was production before",
                                       hint=f"run `mlbot history --model {model}` and pick a listed version")
            return target
        earlier = [v for v in ledger.production_stack(entries) if v != current]
        if earlier:
            return earlier[-1]
        previous = (registered.aliases or {}).get(PREVIOUS_ALIAS)
        if previous is not None and str(previous) != current:
            return str(previous)
        raise PromotionRefused(f"{model} has no earlier promoted version to roll back to",
                               hint="pass --to VERSION, or promote a fixed model instead")
