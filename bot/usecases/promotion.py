"""Promote or refuse — the one decision every path takes — and what follows a promotion on GitHub.

`promote_or_refuse` is called by the merge handler, `/promote`, `mlbot promote` and Actions mode:
it judges the run against the production model it was scored beside, refuses a stale comparison
or a failing blocking gate (unless forced with a reason, which is recorded), and otherwise moves
the alias. Refusals read the same from every path.

On merge, only a model of what main holds is promoted, in merge order: the PR's head run stands
for the merge only when the merge commit adds nothing else; otherwise, or when production moved
since the run was scored, the merge commit is trained against the current production and judged
anew. A run whose commit production already contains (a later merge got there first) is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.core.config import ProjectConfig
from bot.core.errors import ConfigError, ForgeError, PromotionRefused, StaleBaseline, UsageError
from bot.core.judge.gates import WAIVE_ALL, GateContext
from bot.core.report import escape_md
from bot.core.types import ModelVersionRef, Promotion, PullRequest
from bot.ports import Context, Tracker
from bot.usecases import jobs
from bot.usecases.assess import Assessment, assess, describe_gate
from bot.usecases.locks import holding, repo_key
from bot.usecases.repo_state import NotConfigured, RepoSettings, gate_context, read_settings
from bot.usecases.training import start_training

log = logging.getLogger("mlbot.promotion")


@dataclass(frozen=True)
class Refusal:
    """Why nothing moved: failing gates, or a comparison that no longer describes production."""

    kind: Literal["gates", "stale"]
    model: str
    why: str  # the bare reason, for follow-up wording
    gates: tuple[str, ...] = ()  # one line per blocking gate

    @property
    def text(self) -> str:
        """One sentence, then the failing gates: the same on every path (the CLI prints it)."""
        lines = [f"I did not promote {self.model}: {self.why}. Production stays where it is."]
        return "\n".join([*lines, *(f"- {gate}" for gate in self.gates)])

    @property
    def markdown(self) -> str:
        """The same words for a comment, every untrusted piece escaped."""
        lines = [f"I did not promote {escape_md(self.model)}: {escape_md(self.why)}. Production stays where it is."]
        return "\n".join([*lines, *(f"- {escape_md(gate)}" for gate in self.gates)])

    def error(self) -> PromotionRefused:
        """The CLI's view of this refusal (exit 1)."""
        if self.kind == "stale":
            return StaleBaseline(self.text)
        return PromotionRefused(self.text, hint="improve the model and retrain, or override with "
                                                "--force --reason TEXT")


@dataclass(frozen=True)
class Decision:
    assessment: Assessment
    promotion: Promotion | None = None
    refusal: Refusal | None = None


Deferral = Callable[[Assessment], str | None]  # a reason to judge again before moving, or None


def promote_or_refuse(
    config: ProjectConfig, run_id: str, *, tracker: Tracker, by: str,
    policies: Mapping[str, str] | None = None, context: GateContext | None = None, force: bool = False,
    reason: str = "", pr: int | None = None, mlflow_url: str | None = None, defer: Deferral | None = None,
) -> Decision:
    """Judge `run_id` now and move the alias to it, or say why not (nothing moves then)."""
    if force and not reason.strip():
        raise UsageError("--force needs --reason: a forced promotion is recorded with why",
                         hint='add --reason "why the gates may be overridden"')
    assessment = assess(config, run_id, tracker=tracker, policies=policies, context=context,
                        waivers={WAIVE_ALL: reason} if force else None, mlflow_url=mlflow_url)
    if assessment.stale and not force:  # verdicts against an old production say nothing about now
        return Decision(assessment, refusal=_stale_refusal(config.model, assessment.stale))
    if not assessment.promotable and not assessment.is_production:
        return Decision(assessment, refusal=_gates_refusal(config.model, assessment))
    deferred = None if force or defer is None else defer(assessment)
    if deferred:
        return Decision(assessment, refusal=_stale_refusal(config.model, deferred))
    overridden = [r.name for r in assessment.evaluation.results if r.verdict == "waived"]
    try:
        promotion = tracker.promote(config.model, run_id, by=by, alias=config.promote.alias, reason=reason,
                                    force=force, pr=pr,
                                    note=f"gates overridden: {', '.join(overridden)}" if overridden else "")
    except StaleBaseline as error:  # production moved in another process since the judgement
        return Decision(assessment, refusal=_stale_refusal(config.model, error.message))
    return Decision(assessment, promotion=promotion)


def _gates_refusal(model: str, assessment: Assessment) -> Refusal:
    blocking = assessment.evaluation.blocking
    return Refusal("gates", model, f"{len(blocking)} blocking gate(s) did not pass",
                   tuple(describe_gate(r) for r in blocking))


def _stale_refusal(model: str, why: str) -> Refusal:
    return Refusal("stale", model, why)


# --- on merge ---------------------------------------------------------------------------------


def on_merge(ctx: Context, request: jobs.PromotionRequested) -> None:
    """Decide, after a merge, whether the merged PR's model becomes production."""
    pull = ctx.forge.get_pull(request.repo, request.pr)
    try:  # the policies the PR was judged by: the base before the merge, not the PR's own edits
        settings = read_settings(ctx, pull.repo, request.base_sha or pull.base_ref)
    except NotConfigured:
        return
    except ConfigError as error:
        ctx.forge.create_comment(pull.repo, pull.number, "I did not promote anything: the base branch's "
                                 f"configuration is invalid ({escape_md(error.message)}).")
        return
    # Two merges arriving together must not judge and promote interleaved: one decision per repository.
    with holding(ctx, repo_key(pull.repo)):
        _decide(ctx, pull, settings, request)


def _decide(ctx: Context, pull: PullRequest, settings: RepoSettings, request: jobs.PromotionRequested) -> None:
    config, tracker = settings.config, ctx.tracker
    retrained = request.run_id is not None
    run_id = request.run_id or tracker.find_run(config.experiment_name, request.sha)
    if run_id is None:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote anything: there is no finished "
                                 f"training run of {request.sha[:7]} in MLflow. A maintainer can train the "
                                 "default branch and run `mlbot promote`.")
        return
    later = superseded_by(ctx, config.model, config.promote.alias, pull.repo, request.sha, run_id)
    if later is not None:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote {request.sha[:7]}: production "
                                 f"**{escape_md(config.model)}** v{later.version} was trained on "
                                 f"{str(later.sha)[:7]}, which already contains it (a later merge got there first).")
        return

    def main_moved(_: Assessment) -> str | None:
        if retrained or holds_only_the_pull(ctx, pull):
            return None
        return (f"main had other changes when #{pull.number} merged, so its head {pull.head_sha[:7]} is not "
                "the model main now holds")

    decision = promote_or_refuse(config, run_id, tracker=tracker, by=request.by or pull.author,
                                 policies=settings.policies, context=gate_context(ctx.forge, pull, settings.policy),
                                 reason=f"merged #{pull.number}", pr=pull.number, mlflow_url=ctx.mlflow_url,
                                 defer=main_moved)
    refusal = decision.refusal
    if refusal is not None:
        if refusal.kind == "stale" and not (retrained and decision.assessment.baseline_version is None):
            current = tracker.production_version(config.model, config.promote.alias)
            reevaluate(ctx, pull, refusal.why, current.version if current else None)
        else:
            ctx.forge.create_comment(pull.repo, pull.number, refusal.markdown)
        return
    assert decision.promotion is not None
    if decision.promotion.changed:
        announce(ctx, pull, settings, decision.promotion, ref=pull.merge_commit_sha or request.sha)


def holds_only_the_pull(ctx: Context, pull: PullRequest) -> bool:
    """Whether the merge commit adds nothing to the PR's head but itself (main had not moved on)."""
    merge = pull.merge_commit_sha
    if not merge or merge == pull.head_sha:
        return True
    since_head = ctx.forge.compare(pull.repo, pull.head_sha, merge)
    return since_head.status == "ahead" and since_head.ahead_by == 1


def superseded_by(ctx: Context, model: str, alias: str, repo: str, sha: str, run_id: str) -> ModelVersionRef | None:
    """The production version, when it was trained on a commit that already contains `sha`."""
    current = ctx.tracker.production_version(model, alias)
    if current is None or not current.sha or current.run_id == run_id:
        return None
    try:
        return current if ctx.forge.compare(repo, sha, current.sha).head_contains_base else None
    except ForgeError as error:
        if error.status == 404:  # production came from a commit this repository does not have
            return None
        raise


def reevaluate(ctx: Context, pull: PullRequest, why: str, production: str | None) -> None:
    """Train the merge commit against production `production` and judge that run instead."""
    sha = pull.merge_commit_sha
    if not sha:
        ctx.forge.create_comment(pull.repo, pull.number, f"I did not promote: {escape_md(why)}, and GitHub "
                                 "reported no merge commit to re-evaluate.")
        return
    ctx.forge.create_comment(pull.repo, pull.number, f"Not promoted yet: {escape_md(why)}. I am training the "
                             f"merge commit {sha[:7]} against the current production model and will promote it "
                             "if the gates pass.")
    start_training(ctx, pull, trigger="merge", sha=sha, production=production)


def announce(ctx: Context, pull: PullRequest, settings: RepoSettings, promotion: Promotion, *, ref: str,
             verb: Literal["promoted", "rolled back"] = "promoted") -> None:
    """GitHub deployment + status, GTO-style tags, and the comment saying what moved."""
    config = settings.config
    model = escape_md(config.model)
    was = f"v{promotion.previous}" if promotion.previous else "none"
    if config.promote.deployment:
        deployment = ctx.forge.create_deployment(
            pull.repo, ref, config.promote.alias, f"{config.model} v{promotion.version}",
            {"model": config.model, "version": promotion.version, "previous": promotion.previous},
        )
        ctx.forge.create_deployment_status(pull.repo, deployment, "success",
                                           f"{config.model} v{promotion.version} is {config.promote.alias}")
    if config.promote.git_tag:
        seq = promotion.entry.seq if promotion.entry else 0
        message = f"{verb} {config.model} v{promotion.version} to {config.promote.alias} (was {was})"
        if verb == "promoted":
            ctx.forge.create_tag(pull.repo, f"{config.model}@v{promotion.version}.0.0", ref,
                                 f"register {config.model} v{promotion.version}")
        ctx.forge.create_tag(pull.repo, f"{config.model}#{config.promote.alias}#{seq}", ref, message)
    icon = "🚀" if verb == "promoted" else "⏪"
    ctx.forge.create_comment(pull.repo, pull.number, f"{icon} {verb} **{model}** {config.promote.alias} to "
                             f"v{promotion.version} (was {was})." if verb == "rolled back" else
                             f"{icon} promoted **{model}** v{promotion.version} to {config.promote.alias} "
                             f"(was {was}).")
