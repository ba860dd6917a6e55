"""Tracking: create and log training runs, find a cached run, read runs back for the comparison.

Layout of what is logged: docs/internals.md ("What a training run logs"). No MLflow object
leaves this module; callers get plain values, `RunRecord`s and `PredictionTable`s.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from bot.adapters.mlflow import connect, tracker_errors
from bot.core.errors import NotFound, TrackerError
from bot.core.judge.table import PredictionTable
from bot.core.types import Snooze
from bot.core.watch_report import WatchSummary
from bot.ports import RunRecord

PREDICTIONS = "eval/predictions.parquet"
PROFILE = "eval/profile.json"
SUMMARY = "eval/summary.json"
MODEL_NAME = "model"
WATCH_REPORT = "watch/report.json"
SNOOZED_UNTIL = "mlbot.watch_snoozed_until."  # + alias, on the registered model: epoch seconds as text
SNOOZED_BY = "mlbot.watch_snoozed_by."  # + alias: who said `/snooze`
SHAS_TAG = "mlbot.shas"  # ",<sha>,<sha>,": the other commits a run-cache hit reused this run for
FULL_SHA = 40
# MLflow's log_batch limits: 1000 entries per request, of which at most 100 params and 100 tags.
BATCH_TOTAL, BATCH_PARAMS, BATCH_TAGS = 1000, 100, 100

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Baseline", "RunRecord", "RunStore"]


@dataclass(frozen=True)
class Baseline:
    """The production model: the registered version an alias points at."""

    version: str
    run_id: str | None
    model_uri: str  # models:/<name>/<version>: loads exactly this version even if the alias moves


def _batches(params: dict[str, str], metrics: dict[str, float],
             tags: dict[str, str]) -> Iterator[tuple[list[tuple[str, str]], list[tuple[str, float]],
                                                     list[tuple[str, str]]]]:
    p, m, t = list(params.items()), list(metrics.items()), list(tags.items())
    while p or m or t:
        take_p, take_t = p[:BATCH_PARAMS], t[:BATCH_TAGS]
        take_m = m[:BATCH_TOTAL - len(take_p) - len(take_t)]
        yield take_p, take_m, take_t
        p, m, t = p[len(take_p):], m[len(take_m):], t[len(take_t):]


def artifact_location(tracking_uri: str) -> str | None:
    """Where a new experiment's artifacts go: beside an SQLite store given by absolute path, not under the cwd.

    MLflow's default is `./mlruns` in the working directory, which is the user's repository when
    `mlbot train` runs there; a relative store already lives in the cwd, so it keeps the default.
    """
    if not tracking_uri.startswith("sqlite:///"):
        return None
    database = Path(unquote(tracking_uri.removeprefix("sqlite:///").split("?")[0]))
    return (database.parent / "mlartifacts").as_uri() if database.is_absolute() else None


def nothing_to_snooze(model: str) -> NotFound:
    return NotFound(f"there is no registered model named {model}, so there is no watch to snooze",
                    hint="promote a first version; the watch starts after that")


def _record(run: Any) -> RunRecord:
    return RunRecord(run_id=run.info.run_id, experiment_id=str(run.info.experiment_id),
                     tags=dict(run.data.tags), params=dict(run.data.params),
                     metrics={k: float(v) for k, v in run.data.metrics.items()},
                     artifact_uri=str(run.info.artifact_uri), start_time=int(run.info.start_time or 0))


class RunStore:
    """Training runs in one MLflow tracking store; connects on first use."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            with tracker_errors(self.tracking_uri, "connect"):
                self._client = connect(self.tracking_uri)
        return self._client

    # --- the production model -------------------------------------------------------------

    def production(self, model: str, alias: str) -> Baseline | None:
        """The version `models:/<model>@<alias>` points at, or None when there is none."""
        from mlflow.exceptions import MlflowException

        with tracker_errors(self.tracking_uri, f"look up {model}@{alias}"):
            try:
                version = self.client.get_model_version_by_alias(model, alias)
            except MlflowException as error:
                if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}:
                    return None
                raise
        return Baseline(str(version.version), version.run_id or None, f"models:/{model}/{version.version}")

    def download_safe_model(self, model_uri: str, directory: Path) -> Path:
        """Download a logged sklearn model and return its skops file; never unpickle anything.

        Models logged with pickle/cloudpickle (by mlbot before the trust split) are refused with
        NotFound: loading them would run whatever code the file holds.
        """
        import mlflow.artifacts
        import yaml

        with tracker_errors(self.tracking_uri, f"download the model {model_uri}"):
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(directory),
                                                             tracking_uri=self.tracking_uri))
        try:
            flavour = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["sklearn"]
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            raise NotFound(f"{model_uri} is not an MLflow sklearn model",
                           hint="register a model logged by `mlbot evaluate`") from None
        fmt = flavour.get("serialization_format", "pickle")
        if fmt != "skops":
            raise NotFound(f"{model_uri} is stored as {fmt}, which runs code when loaded, so mlbot "
                           "did not load it", hint="retrain production with this mlbot (it logs the "
                           "safe skops format) and promote that run")
        return local / str(flavour.get("pickled_model", "model.skops"))

    # --- run-cache -----------------------------------------------------------------------

    def find_cached_run(self, experiment: str, cache_key: str, baseline_version: str | None) -> str | None:
        """A finished run with this cache key, scored against the same production version."""
        with tracker_errors(self.tracking_uri, "search the run-cache"):
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                return None
            query = f"tags.`mlbot.cache_key` = '{cache_key}' AND tags.`mlbot.status` = 'finished'"
            if baseline_version is not None:
                query += f" AND tags.`mlbot.baseline_version` = '{baseline_version}'"
            runs = self.client.search_runs([found.experiment_id], query, max_results=1,
                                           order_by=["attributes.start_time DESC"])
        if not runs or runs[0].data.tags.get("mlbot.baseline_version") != baseline_version:
            return None
        return str(runs[0].info.run_id)

    def add_sha(self, run_id: str, sha: str) -> None:
        """Record that the reused run `run_id` also stands for commit `sha` (so `--sha` finds it)."""
        sha = sha.strip().lower()
        if not sha:
            return
        with tracker_errors(self.tracking_uri, f"tag run {run_id} with {sha[:7]}"):
            tags = self.client.get_run(run_id).data.tags
            if sha == tags.get("mlbot.sha") or f",{sha}," in tags.get(SHAS_TAG, ","):
                return
            self.client.set_tag(run_id, SHAS_TAG, tags.get(SHAS_TAG, ",") + f"{sha},")

    def find_run_of_sha(self, experiment: str, sha: str) -> str | None:
        """The newest finished run of `sha` (full or a prefix): trained on it, or reused for it by the run-cache."""
        sha = sha.strip().lower()
        if not sha or not all(c in "0123456789abcdef" for c in sha):
            return None
        with tracker_errors(self.tracking_uri, f"find the run of {sha}"):
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                return None
            trained = f"= '{sha}'" if len(sha) >= FULL_SHA else f"LIKE '{sha}%'"
            runs = [run for query in (f"tags.`mlbot.sha` {trained}", f"tags.`{SHAS_TAG}` LIKE '%,{sha}%'")
                    for run in self.client.search_runs(
                        [found.experiment_id], f"{query} AND tags.`mlbot.status` = 'finished'",
                        max_results=1, order_by=["attributes.start_time DESC"])]
        # a commit trained on its own wins over one that reused another commit's run
        return str(runs[0].info.run_id) if runs else None


    # --- the production watch ---------------------------------------------------------------

    def watch_runs(self, experiment: str, model: str, alias: str, limit: int) -> list[RunRecord]:
        """The newest finished monitoring runs (`mlbot.trigger = watch`) of `model`@`alias`, newest first."""
        with tracker_errors(self.tracking_uri, "search the monitoring runs"):
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                return []
            query = (f"tags.`mlbot.trigger` = 'watch' AND tags.`mlbot.model` = '{model}' AND "
                     f"tags.`mlbot.watch_alias` = '{alias}' AND tags.`mlbot.status` = 'finished'")
            runs = self.client.search_runs([found.experiment_id], query, max_results=limit,
                                           order_by=["attributes.start_time DESC"])
        return [_record(r) for r in runs]

    def latest_watch(self, experiment: str, model: str, alias: str) -> tuple[WatchSummary, float] | None:
        """The newest finished monitoring run of `model`@`alias`: its `watch/report.json` and start (epoch s)."""
        newest = self.watch_runs(experiment, model, alias, 1)
        if not newest:
            return None
        run = newest[0]
        raw = self._download(run.run_id, WATCH_REPORT)
        try:
            summary = WatchSummary.from_json(json.loads(raw))
        except (ValueError, TypeError, AttributeError) as error:  # not JSON, or not a summary
            raise TrackerError(f"the watch report of run {run.run_id} is not one this mlbot can read ({error})",
                               hint="run `mlbot watch` again to log a fresh monitoring run") from None
        return replace(summary, run_id=run.run_id), run.start_time / 1000

    def _model_tags(self, model: str) -> dict[str, str] | None:
        """The registered model's tags, or None when `model` is not registered (call inside tracker_errors)."""
        from mlflow.exceptions import MlflowException

        try:
            registered = self.client.get_registered_model(model)
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return dict(registered.tags or {})

    def watch_snooze(self, model: str, alias: str) -> Snooze | None:
        """The `/snooze` recorded for `model`@`alias` (also one that has ended), or None."""
        with tracker_errors(self.tracking_uri, f"read the snooze of {model}@{alias}"):
            tags = self._model_tags(model) or {}
        try:
            until = float(tags[SNOOZED_UNTIL + alias])
        except (KeyError, ValueError):  # none, or a tag someone edited by hand into nonsense
            return None
        return Snooze(until, tags.get(SNOOZED_BY + alias, ""))

    def snooze_watch(self, model: str, alias: str, snooze: Snooze | None) -> None:
        """Record the `/snooze` of `model`@`alias` on the registered model; None clears it."""
        with tracker_errors(self.tracking_uri, f"record the snooze of {model}@{alias}"):
            tags = self._model_tags(model)
            if tags is None:
                raise nothing_to_snooze(model)
            if snooze is None:
                # `until` first: a clear cut short in between leaves no snooze, only a stale name
                for key in (SNOOZED_UNTIL + alias, SNOOZED_BY + alias):
                    if key in tags:
                        self.client.delete_registered_model_tag(model, key)
                return
            # `by` first: a reader that sees the new `until` also sees who asked for it
            self.client.set_registered_model_tag(model, SNOOZED_BY + alias, snooze.by)
            self.client.set_registered_model_tag(model, SNOOZED_UNTIL + alias, repr(float(snooze.until)))

    # --- writing a run -------------------------------------------------------------------

    def start_run(self, experiment: str, run_name: str, tags: Mapping[str, str]) -> str:
        """Create a run in `experiment` (created when missing); return its id."""
        with tracker_errors(self.tracking_uri, "start a run"):
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found else self.client.create_experiment(
                experiment, artifact_location=artifact_location(self.tracking_uri))
            run = self.client.create_run(experiment_id, tags=dict(tags), run_name=run_name)
        return str(run.info.run_id)

    def log_batch(self, run_id: str, params: Mapping[str, object], metrics: Mapping[str, float],
                  tags: Mapping[str, str]) -> None:
        """Log params, metrics and tags in as few requests as MLflow's batch limits allow."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        with tracker_errors(self.tracking_uri, "log params and metrics"):
            for p, m, t in _batches({k: str(v) for k, v in params.items()}, dict(metrics), dict(tags)):
                self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in m],
                                      params=[Param(k, v) for k, v in p], tags=[RunTag(k, v) for k, v in t])

    def log_sklearn_model(self, run_id: str, model: Any, input_example: pd.DataFrame,
                          pip_requirements: list[str], trusted_types: list[str]) -> str:
        """Log the fitted model (skops, signature, input example); return its URI.

        `trusted_types` are the non-default types the safe loader already accepted for this model:
        MLflow records them so `mlflow.pyfunc.load_model` reads the same code-free file back.
        """
        import mlflow
        import mlflow.sklearn
        from mlflow.models import infer_signature

        signature = infer_signature(input_example, model.predict(input_example))
        with tracker_errors(self.tracking_uri, "log the model"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with mlflow.start_run(run_id=run_id, log_system_metrics=False):
                # skops needs the tree/loss types named; explicit requirements skip a 2 s inference
                info = mlflow.sklearn.log_model(
                    model, name=MODEL_NAME, serialization_format="skops", skops_trusted_types=trusted_types,
                    pip_requirements=pip_requirements, signature=signature, input_example=input_example)
        return str(info.model_uri)

    def log_artifacts(self, run_id: str, files: Mapping[str, bytes]) -> None:
        """Upload files given as {run-relative path: bytes}."""
        with tempfile.TemporaryDirectory(prefix="mlbot-artifacts-") as tmp:
            for relative, content in files.items():
                target = Path(tmp, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            with tracker_errors(self.tracking_uri, "upload artifacts"):
                self.client.log_artifacts(run_id, tmp)

    def finish_run(self, run_id: str, ok: bool) -> None:
        """Mark the run finished (the run-cache reuses only those) or failed."""
        with tracker_errors(self.tracking_uri, "finish the run"):
            self.client.set_tag(run_id, "mlbot.status", "finished" if ok else "failed")
            self.client.set_terminated(run_id, "FINISHED" if ok else "FAILED")

    # --- reading a run back (the comparison side) ------------------------------------------

    def load_run_record(self, run_id: str) -> RunRecord:
        """Tags, params and metrics of a run."""
        from mlflow.exceptions import MlflowException

        with tracker_errors(self.tracking_uri, f"read run {run_id}"):
            try:
                run = self.client.get_run(run_id)
            except MlflowException as error:
                if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                    raise NotFound(f"MLflow has no run {run_id}",
                                   hint="check the run id and MLFLOW_TRACKING_URI") from None
                raise
        return _record(run)

    def _download(self, run_id: str, path: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="mlbot-download-") as tmp:
            with tracker_errors(self.tracking_uri, f"download {path} of run {run_id}"):
                local = Path(self.client.download_artifacts(run_id, path, dst_path=tmp))
            if not local.is_file():
                raise NotFound(f"run {run_id} has no {path}", hint="was it logged by `mlbot train`?")
            return local.read_bytes()

    def load_predictions(self, run_id: str) -> PredictionTable:
        """The per-row eval predictions of a run (`eval/predictions.parquet`), one numpy array per column."""
        import io

        import pandas as pd  # here, not at import: the webhook process never reads parquet

        frame = pd.read_parquet(io.BytesIO(self._download(run_id, PREDICTIONS)))
        return PredictionTable({str(c): frame[c].to_numpy() for c in frame.columns})

    def load_profile(self, run_id: str) -> dict[str, Any]:
        """The data profile of a run (`eval/profile.json`)."""
        profile: dict[str, Any] = json.loads(self._download(run_id, PROFILE))
        return profile
