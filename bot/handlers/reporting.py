"""Reporting: turn a finished training into the sticky report comment and the two check runs."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.errors import ConfigError, MlbotError
from bot.core.events import Event, PullRequestReviewEvent
from bot.core.paths import edited_policies
from bot.core.report import WAITING_KINDS, escape_md, marker, render_markdown, render_text
from bot.handlers.routing import Router
from bot.ports import CheckConclusion, Context, PullRequest, TrainingJob, TrainingOutcome
from bot.usecases.assess import Assessment, assess, describe_gate
from bot.usecases.repo_state import (
    GATES_CHECK,
    TRAIN_CHECK,
    NotConfigured,
    RepoSettings,
    bullet_problems,
    gate_context,
    keyed_lock,
    read_settings,
    set_check,
)

log = logging.getLogger("mlbot.reporting")

PROMOTE_JOB = "mlbot.promote"


def training_done(ctx: Context, job: TrainingJob, outcome: TrainingOutcome, details_url: str | None = None) -> None:
    """Report a finished training: superseded, failed, a merge re-evaluation, or a new report."""
    if job.pr is None:
        return
    pull = ctx.forge.get_pull(job.repo, job.pr)
    if job.trigger == "merge":
        if outcome.ok and outcome.run_id:
            ctx.queue.enqueue(PROMOTE_JOB, {"repo": job.repo, "pr": job.pr, "sha": job.sha,
                                            "run_id": outcome.run_id, "by": pull.author,
                                            "base_sha": pull.base_sha},
                              key=f"promote:{job.repo}:{job.pr}:{outcome.run_id}")
        else:
            ctx.forge.create_comment(job.repo, job.pr, "I could not re-evaluate the merge commit "
                                     f"{job.sha[:7]}, so nothing was promoted: {outcome.message}\n\n"
                                     + log_block(outcome.log_tail))
        return
    if pull.head_sha != job.sha:
        set_check(ctx.forge, job.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="neutral",
                  title="Superseded", summary=f"A newer commit ({pull.head_sha[:7]}) is being judged instead.")
        log.info("run for %s of %s#%s superseded by %s", job.sha[:7], job.repo, job.pr, pull.head_sha[:7])
        return
    if not outcome.ok or not outcome.run_id:
        report_failure(ctx, pull, job, outcome, details_url)
        return
    set_check(ctx.forge, job.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="success",
              title="Training finished", summary=outcome.message or f"MLflow run {outcome.run_id}",
              details_url=details_url)
    publish_report(ctx, pull, outcome.run_id)


def log_block(log_tail: str) -> str:
    """The end of a training log, folded, safe inside Markdown."""
    if not log_tail.strip():
        return ""
    text = log_tail[-6000:].replace("```", "`\u200d``")
    return f"<details><summary>last lines of the training log</summary>\n\n```text\n{text}\n```\n</details>\n"


def report_failure(ctx: Context, pull: PullRequest, job: TrainingJob, outcome: TrainingOutcome,
                   details_url: str | None) -> None:
    """A failed training: say so in the report comment and both checks, with the log tail."""
    try:
        model = read_settings(ctx.forge, pull.repo, pull.base_sha or pull.base_ref).config.model
    except (NotConfigured, ConfigError):
        model = "model"
    summary = f"Training of {job.sha[:7]} failed: {outcome.message}"
    body = (f"{marker(model)}\n## mlbot: training failed for `{job.sha[:7]}`\n\n{escape_md(outcome.message)}\n\n"
            f"{log_block(outcome.log_tail)}\nFix the problem and push again, or comment `/retrain` to retry.\n")
    ctx.forge.upsert_sticky_comment(pull.repo, pull.number, marker(model), body)
    set_check(ctx.forge, pull.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="failure",
              title="Training failed", summary=summary, text=outcome.log_tail[-60_000:] or None,
              details_url=details_url)
    set_check(ctx.forge, pull.repo, job.sha, GATES_CHECK, status="completed", conclusion="neutral",
              title="No model to judge", summary="Training failed, so no gate was evaluated.")


def judge(ctx: Context, pull: PullRequest, run_id: str, settings: RepoSettings) -> Assessment:
    """Assess `run_id` for `pull` with the base branch's policies and fresh review/check facts."""
    if ctx.tracker is None:
        raise MlbotError("this bot has no MLflow tracker configured", hint="set MLFLOW_TRACKING_URI")
    changed = ctx.forge.list_pull_files(pull.repo, pull.number)
    return assess(settings.config, run_id, tracker=ctx.tracker, policies=settings.policies,
                  context=gate_context(ctx.forge, pull), mlflow_url=ctx.mlflow_url,
                  edited_policies=tuple(edited_policies(changed)),
                  policy_source=f"{pull.base_ref} ({settings.ref[:7]})")


def publish_report(ctx: Context, pull: PullRequest, run_id: str,
                   settings: RepoSettings | None = None) -> Assessment | None:
    """Compare, evaluate the gates, upsert the sticky comment and complete `mlbot/gates`.

    `settings` are the base branch's, read here unless the caller already has them. None when there
    is nothing to report: no or invalid configuration (said in the check), or the PR moved on.
    """
    if settings is None:
        try:
            settings = read_settings(ctx.forge, pull.repo, pull.base_sha or pull.base_ref)
        except NotConfigured:
            return None
        except ConfigError as error:
            set_check(ctx.forge, pull.repo, pull.head_sha, GATES_CHECK, status="completed", conclusion="failure",
                      title="Policies or mlbot.yaml on the base branch are invalid",
                      summary=bullet_problems(error.problems))
            return None
    # the sticky comment is find-then-write: one writer per pull request in this process
    with keyed_lock("pull", pull.repo.lower(), pull.number):
        assessment = judge(ctx, pull, run_id, settings)
        current = ctx.forge.get_pull(pull.repo, pull.number)
        trained = assessment.comparison.candidate.sha
        if current.state == "open" and trained and current.head_sha != trained:
            log.info("not reporting run %s of %s: %s#%s moved on to %s", run_id, trained[:7], pull.repo,
                     pull.number, current.head_sha[:7])
            return None  # a newer commit's report must never be overwritten by an older run's
        view = replace(assessment.view, title=current.title, branch=current.head_ref)
        ctx.forge.upsert_sticky_comment(pull.repo, pull.number, marker(settings.config.model),
                                        render_markdown(view))
        complete_gates_check(ctx, current, assessment)
    return assessment


def complete_gates_check(ctx: Context, pull: PullRequest, assessment: Assessment) -> None:
    """success when promotable; neutral while only reviews/CI are outstanding; failure otherwise."""
    blocking = assessment.evaluation.blocking
    view = replace(assessment.view, title=pull.title, branch=pull.head_ref)
    conclusion: CheckConclusion
    if not blocking:
        conclusion, title = "success", "Every blocking gate passes"
    elif all(r.kind in WAITING_KINDS for r in blocking):
        conclusion, title = "neutral", "Waiting for reviews or CI"
    else:
        conclusion, title = "failure", f"{len(blocking)} blocking gate(s) did not pass"
    summary = "\n".join(f"- {describe_gate(r)}" for r in blocking) or "All blocking gates pass."
    set_check(ctx.forge, pull.repo, pull.head_sha, GATES_CHECK, status="completed",
              conclusion=conclusion, title=title, summary=summary[:60_000],
              text=f"```text\n{render_text(view)[:60_000]}\n```")


router = Router()


@router.register("pull_request_review", "submitted")
@router.register("pull_request_review", "dismissed")
def review_changed(event: Event, ctx: Context) -> None:
    """A review changes the review gate: judge the head commit's run again, if there is one yet."""
    if not isinstance(event, PullRequestReviewEvent) or event.pull is None or ctx.tracker is None:
        return
    pull = ctx.forge.get_pull(event.repo, event.pull.number)
    if pull.state != "open":
        return
    try:
        settings = read_settings(ctx.forge, pull.repo, pull.base_sha or pull.base_ref)
    except (NotConfigured, ConfigError):
        return
    run_id = ctx.tracker.find_run(settings.config.experiment_name, pull.head_sha)
    if run_id is not None:
        publish_report(ctx, pull, run_id, settings)
