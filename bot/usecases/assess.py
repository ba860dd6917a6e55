"""Assess a candidate run: compare it with the production model it was scored beside, judge the gates.

`assess` reads the candidate's logged run (through a `ports.Tracker`), compares it with the
production model it was scored beside (`mlbot.baseline_version`), evaluates the policy and builds
the report view; `Assessment.stale` says when production has moved since. Promotion decisions
live in `usecases.promotion`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.config import ProjectConfig
from bot.core.errors import NotFound, UsageError
from bot.core.judge.compare import Comparison, RunView, compare_runs
from bot.core.judge.gates import Evaluation, GateContext, GateResult, evaluate
from bot.core.policy import PolicySet, load_policies
from bot.core.report import ReportView
from bot.ports import ModelVersionRef, RunRecord, Tracker


@dataclass(frozen=True)
class Assessment:
    """A candidate judged against the production model it was scored beside."""

    view: ReportView
    current: ModelVersionRef | None  # what the alias points at now

    @property
    def comparison(self) -> Comparison:
        return self.view.comparison

    @property
    def evaluation(self) -> Evaluation:
        return self.view.evaluation

    @property
    def promotable(self) -> bool:
        return self.evaluation.promotable

    @property
    def baseline_version(self) -> str | None:
        production = self.comparison.production
        return production.version if production else None

    @property
    def is_production(self) -> bool:
        """Whether the candidate already is the production version."""
        return self.current is not None and self.current.run_id == self.comparison.candidate.run_id

    @property
    def stale(self) -> str | None:
        """Why the comparison no longer describes production, or None when it still does."""
        now = self.current.version if self.current else None
        if now == self.baseline_version or self.is_production:
            return None
        before = f"v{self.baseline_version}" if self.baseline_version else "no production model"
        after = f"v{now}" if now else "no production model"
        return f"production moved from {before} to {after} since this run was evaluated"


def resolve_run(config: ProjectConfig, tracker: Tracker, *, run_id: str | None, sha: str | None) -> str:
    """The run to judge: `run_id` as given, or the newest finished run of `sha`."""
    if bool(run_id) == bool(sha):
        raise UsageError("pass exactly one of --run ID or --sha SHA",
                         hint="e.g. --sha $(git rev-parse HEAD)")
    if run_id:
        return run_id
    found = tracker.find_run(config.experiment_name, sha or "")
    if found is None:
        raise NotFound(f"no finished run of commit {sha} in experiment {config.experiment_name}",
                       hint="run `mlbot train` for that commit first, or pass --run ID")
    return found


def _view(tracker: Tracker, record: RunRecord, version: str | None = None) -> RunView:
    return RunView(run_id=record.run_id, metrics=record.metrics, params=record.params, tags=record.tags,
                   profile=tracker.load_profile(record.run_id), version=version,
                   experiment_id=record.experiment_id)


def _baseline(tracker: Tracker, tags: Mapping[str, str]) -> RunView | None:
    version = tags.get("mlbot.baseline_version") or None
    if version is None:
        return None
    run_id = tags.get("mlbot.baseline_run_id") or ""
    if not run_id:  # a production version registered outside mlbot: compare on predictions only
        return RunView(run_id="", version=version)
    try:
        return _view(tracker, tracker.load_run_record(run_id), version)
    except NotFound:
        return RunView(run_id=run_id, version=version)


def assess(
    config: ProjectConfig,
    run_id: str,
    *,
    tracker: Tracker,
    policies: Mapping[str, str] | None = None,
    context: GateContext | None = None,
    waivers: Mapping[str, str] | None = None,
    mlflow_url: str | None = None,
    edited_policies: tuple[str, ...] = (),
    policy_source: str = "the base branch",
) -> Assessment:
    """Compare the run with its baseline, evaluate the policy (default policy when `policies` is empty)."""
    policy: PolicySet = load_policies(dict(policies or {}))
    record = tracker.load_run_record(run_id)
    trained_for = record.tags.get("mlbot.model")
    if trained_for and trained_for != config.model:
        raise UsageError(f"run {run_id} was trained for model {trained_for}, not {config.model}",
                         hint="pass a run of this project, or --project for the other one")
    comparison = compare_runs(
        _view(tracker, record), _baseline(tracker, record.tags), tracker.load_predictions(run_id),
        model=config.model, metrics=config.metric_names, slices=config.data.slices, task=config.task,
        confidence_levels=policy.confidence_levels(),
    )
    evaluation = evaluate(policy, comparison, context, waivers)
    view = ReportView(comparison, evaluation, mlflow_url=mlflow_url, branch=record.tags.get("mlbot.branch"),
                      edited_policies=edited_policies, policy_source=policy_source)
    return Assessment(view, tracker.production_version(config.model, config.promote.alias))


def describe_gate(result: GateResult, *, verdict: bool = True) -> str:
    """`name: verdict (observed X, threshold Y): reason` — one gate in a sentence."""
    pairs = (("observed", result.observed), ("threshold", result.threshold))
    facts = ", ".join(f"{label} {_value(v)}" for label, v in pairs if v is not None)
    head = f"{result.name}: {result.verdict}" if verdict else result.name
    return head + (f" ({facts})" if facts else "") + f": {result.reason}"


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
