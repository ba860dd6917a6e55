"""The MLflow model registry: promote (register, stale check, move alias), rollback, history.

Aliases only (stages are deprecated). Every move happens under the model's `ModelLock` and is
recorded twice: on the versions' tags (`mlbot.status`, `mlbot.promoted_at`, ...) for people
browsing MLflow, and in the append-only ledger (`ledger.py`) that `mlbot history` reads.
`previous-production` always names where a plain rollback would go.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from bot.core.errors import NotFound, PromotionRefused, StaleBaseline, UsageError
from bot.ports import LedgerEntry, ModelVersionRef, Promotion

from . import ledger
from .lock import ModelLock

PREVIOUS_ALIAS = "previous-production"


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
        clock: Callable[[], str] = _now,
    ) -> None:
        self.client = client
        self.tracking_uri = tracking_uri
        self.lock_dir = lock_dir
        self.lock_wait = lock_wait
        self.lock_settle = lock_settle
        self.clock = clock

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
        return ModelLock(self.client, model, wait=self.lock_wait, settle=self.lock_settle,
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

    def _tag(self, model: str, version: str, values: dict[str, str]) -> None:
        for key, value in values.items():
            self.client.set_model_version_tag(model, version, key, value)

    def _append(self, model: str, entry: LedgerEntry) -> LedgerEntry:
        registered = self._model(model)
        numbered = ledger.next_entry(ledger.read(model, registered.tags or {}), entry)
        self.client.set_registered_model_tag(model, ledger.tag_key(numbered.seq), ledger.encode(numbered))
        return numbered

    def _set_previous(self, model: str, version: str | None) -> None:
        if version is not None:
            self.client.set_registered_model_alias(model, PREVIOUS_ALIAS, version)
            return
        with contextlib.suppress(MlflowException):  # there may be no previous-production to drop
            self.client.delete_registered_model_alias(model, PREVIOUS_ALIAS)

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
        with self._lock(model):
            registered = self._model(model)
            current = (registered.aliases or {}).get(alias)
            current = None if current is None else str(current)
            existing = self._find_version(model, run_id, tags)
            if existing is not None and existing == current:
                return Promotion(model, alias, existing, current, changed=False)
            notes = [note] if note else []
            if current != baseline:
                moved = (f"production moved from {_label(baseline)} to {_label(current)} "
                         "since this run was evaluated")
                if not force:
                    raise StaleBaseline(moved)
                notes.append(f"{moved}; promoted anyway with --force")
            version = existing or self._register(model, run_id, tags)
            at = self.clock()
            values = {"mlbot.status": "production", "mlbot.promoted_at": at, "mlbot.promoted_by": by,
                      "mlbot.reason": reason, "mlbot.forced": str(force).lower()}
            for key, value in (("mlbot.sha", tags.get("mlbot.sha")), ("mlbot.pr", pr),
                               ("mlbot.replaced", current)):
                if value not in (None, ""):
                    values[key] = str(value)
            self._tag(model, version, values)
            self.client.set_registered_model_alias(model, alias, version)
            if current is not None:
                self._tag(model, current, {"mlbot.status": "replaced", "mlbot.replaced_by": version,
                                           "mlbot.replaced_at": at})
            self._set_previous(model, current)
            entry = self._append(model, LedgerEntry(
                seq=0, action="promote", model=model, version=version, previous=current, at=at, by=by,
                reason=reason, sha=tags.get("mlbot.sha"), pr=pr, run_id=run_id, forced=force, note="; ".join(notes),
            ))
            return Promotion(model, alias, version, current, changed=True, entry=entry)

    def rollback(
        self, model: str, *, by: str, reason: str, to: str | None = None, alias: str = "production",
        pr: int | None = None,
    ) -> Promotion:
        """Move `alias` back to the previously promoted version, or to `to` if it was promoted before."""
        if not reason.strip():
            raise UsageError("a rollback needs a reason", hint='pass --reason "why"')
        if self._model(model) is None:
            raise NotFound(f"there is no registered model named {model}",
                           hint="check the model name in mlbot.yaml")
        with self._lock(model):
            registered = self._model(model)
            current = (registered.aliases or {}).get(alias)
            if current is None:
                raise PromotionRefused(f"{model} has no {alias} version to roll back",
                                       hint="promote a version first")
            current = str(current)
            entries = ledger.read(model, registered.tags or {})
            target = self._rollback_target(model, registered, entries, current, to)
            at = self.clock()
            self.version(model, target)  # refuse cleanly if the version was deleted
            self.client.set_registered_model_alias(model, alias, target)
            self._tag(model, current, {"mlbot.status": "rolled-back", "mlbot.rolled_back_at": at,
                                       "mlbot.rolled_back_by": by, "mlbot.rollback_reason": reason})
            self._tag(model, target, {"mlbot.status": "production"})
            target_ref = self.version(model, target)
            entry = self._append(model, LedgerEntry(
                seq=0, action="rollback", model=model, version=target, previous=current, at=at, by=by,
                reason=reason, sha=target_ref.sha, run_id=target_ref.run_id, pr=pr,
            ))
            stack = ledger.production_stack([*entries, entry])
            self._set_previous(model, stack[-2] if len(stack) >= 2 else None)
            return Promotion(model, alias, target, current, changed=True, entry=entry)

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
