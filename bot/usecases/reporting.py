"""Turn a finished training into the sticky report comment and the two check runs.

One writer per pull request at a time (`locks.holding`), and an older commit's run never
overwrites a newer commit's report.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.errors import ConfigError
from bot.core.paths import edited_policies
from bot.core.report import WAITING_KINDS, escape_md, fence_block, marker, render_markdown, render_text
from bot.core.types import CheckConclusion, PullRequest, TrainingJob, TrainingOutcome
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.assess import Assessment, assess, describe_gate
from bot.usecases.checks import GATES_CHECK, TRAIN_CHECK, set_check
from bot.usecases.locks import holding, pull_key
from bot.usecases.repo_state import (
    NotConfigured,
    RepoSettings,
    bullet_problems,
    changed_files,
    gate_context,
    read_settings,
    settings_ref,
)

log = logging.getLogger("mlbot.reporting")
LOG_TAIL = 6000  # characters of a training log shown on the pull request


def training_done(ctx: Context, finished: jobs.TrainingFinished, details_url: str | None = None) -> None:
    """Report a finished training: superseded, failed, a merge re-evaluation, or a new report."""
    job, outcome = finished.job, finished.outcome
    if job.pr is None:
        return
    pull = ctx.forge.get_pull(job.repo, job.pr)
    if job.trigger == "merge":
        if outcome.ok and outcome.run_id:
            request = jobs.PromotionRequested(repo=job.repo, pr=job.pr, sha=job.sha, by=pull.author,
                                              base_sha=pull.base_sha, run_id=outcome.run_id)
            jobs.enqueue(ctx.queue, request, f"promote:{job.repo.lower()}:{job.pr}:{outcome.run_id}")
        else:
            ctx.forge.create_comment(job.repo, job.pr, "I could not re-evaluate the merge commit "
                                     f"{job.sha[:7]}, so nothing was promoted: {escape_md(outcome.message)}\n\n"
                                     + log_block(outcome.log_tail))
        return
    if pull.head_sha != job.sha:
        set_check(ctx, job.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="neutral",
                  check_id=finished.check_id, title="Superseded",
                  summary=f"A newer commit ({pull.head_sha[:7]}) is being judged instead.")
        log.info("run for %s of %s#%s superseded by %s", job.sha[:7], job.repo, job.pr, pull.head_sha[:7])
        return
    if not outcome.ok or not outcome.run_id:
        report_failure(ctx, pull, finished, details_url)
        return
    set_check(ctx, job.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="success",
              check_id=finished.check_id, title="Training finished",
              summary=outcome.message or f"MLflow run {outcome.run_id}", details_url=details_url)
    publish_report(ctx, pull, outcome.run_id, fresh=True)


def log_block(log_tail: str) -> str:
    """The end of a training log, folded, fenced."""
    if not log_tail.strip():
        return ""
    return (f"<details><summary>last lines of the training log</summary>\n\n{fence_block(log_tail[-LOG_TAIL:])}\n"
            "</details>\n")


def report_failure(ctx: Context, pull: PullRequest, finished: jobs.TrainingFinished,
                   details_url: str | None) -> None:
    """A failed training: say so in the report comment and both checks, with the log tail."""
    job, outcome = finished.job, finished.outcome
    try:
        model = read_settings(ctx, pull.repo, settings_ref(pull)).config.model
    except (NotConfigured, ConfigError):
        model = "model"
    summary = f"Training of {job.sha[:7]} failed: {escape_md(outcome.message)}"
    body = (f"{marker(model)}\n## mlbot: training failed for `{job.sha[:7]}`\n\n{escape_md(outcome.message)}\n\n"
            f"{log_block(outcome.log_tail)}\nFix the problem and push again, or comment `/retrain` to retry.\n")
    with holding(ctx, pull_key(pull.repo, pull.number)):
        ctx.forge.upsert_sticky_comment(pull.repo, pull.number, marker(model), body)
    set_check(ctx, pull.repo, job.sha, TRAIN_CHECK, status="completed", conclusion="failure",
              check_id=finished.check_id, title="Training failed", summary=summary,
              text=fence_block(outcome.log_tail[-60_000:]) if outcome.log_tail.strip() else None,
              details_url=details_url)
    set_check(ctx, pull.repo, job.sha, GATES_CHECK, status="completed", conclusion="neutral",
              title="No model to judge", summary="Training failed, so no gate was evaluated.")


def judge(ctx: Context, pull: PullRequest, run_id: str, settings: RepoSettings) -> Assessment:
    """Assess `run_id` for `pull` with the base commit's policies and fresh review/check facts."""
    policy = settings.policy
    return assess(settings.config, run_id, tracker=ctx.tracker, policies=settings.policies,
                  context=gate_context(ctx.forge, pull, policy), mlflow_url=ctx.mlflow_url,
                  edited_policies=tuple(edited_policies(changed_files(ctx, pull))),
                  policy_source=f"{pull.base_ref} ({settings.ref[:7]})")


def publish_report(ctx: Context, pull: PullRequest, run_id: str, settings: RepoSettings | None = None, *,
                   fresh: bool = False, details_url: str | None = None) -> Assessment | None:
    """Compare, evaluate the gates, upsert the sticky comment and complete `mlbot/gates`.

    `settings` are the base commit's, read here unless the caller has them; `fresh` says `pull` was
    read just now. None when there is nothing to report: no or invalid configuration (said in the
    check), or the PR moved on to a newer commit.
    """
    if settings is None:
        try:
            settings = read_settings(ctx, pull.repo, settings_ref(pull))
        except NotConfigured:
            return None
        except ConfigError as error:
            set_check(ctx, pull.repo, pull.head_sha, GATES_CHECK, status="completed", conclusion="failure",
                      title="Policies or mlbot.yaml on the base branch are invalid",
                      summary=bullet_problems(error.problems))
            return None
    with holding(ctx, pull_key(pull.repo, pull.number)):
        assessment = judge(ctx, pull, run_id, settings)
        current = pull if fresh else ctx.forge.get_pull(pull.repo, pull.number)
        trained = assessment.comparison.candidate.sha
        if current.state == "open" and trained and current.head_sha != trained:
            log.info("not reporting run %s of %s: %s#%s moved on to %s", run_id, trained[:7], pull.repo,
                     pull.number, current.head_sha[:7])
            return None  # a newer commit's report must never be overwritten by an older run's
        view = replace(assessment.view, title=current.title, branch=current.head_ref)
        ctx.forge.upsert_sticky_comment(pull.repo, pull.number, marker(settings.config.model),
                                        render_markdown(view))
        complete_gates_check(ctx, current, assessment, details_url=details_url)
    return assessment


def complete_gates_check(ctx: Context, pull: PullRequest, assessment: Assessment, *,
                         details_url: str | None = None) -> None:
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
    summary = "\n".join(f"- {escape_md(describe_gate(r))}" for r in blocking) or "All blocking gates pass."
    set_check(ctx, pull.repo, pull.head_sha, GATES_CHECK, status="completed",
              conclusion=conclusion, title=title, summary=summary[:60_000],
              text=fence_block(render_text(view)[:60_000]), details_url=details_url)


def report_again(ctx: Context, pull: PullRequest) -> Assessment | None:
    """Judge the head commit's newest run again (a review changed), if it has one yet."""
    try:
        settings = read_settings(ctx, pull.repo, settings_ref(pull))
    except (NotConfigured, ConfigError):
        return None
    run_id = ctx.tracker.find_run(settings.config.experiment_name, pull.head_sha)
    return publish_report(ctx, pull, run_id, settings, fresh=True) if run_id else None


def outcome_of_workflow(ctx: Context, pull: PullRequest, sha: str, conclusion: str | None,
                        html_url: str) -> TrainingOutcome:
    """What a completed Actions training run produced: the MLflow run it logged for `sha`, if any."""
    run_id = None
    if conclusion == "success":
        settings = read_settings(ctx, pull.repo, settings_ref(pull))
        run_id = ctx.tracker.find_run(settings.config.experiment_name, sha)
    ok = conclusion == "success" and run_id is not None
    message = (f"The training workflow finished ({conclusion})." if ok or conclusion != "success"
               else "The training workflow succeeded but logged no finished MLflow run for this commit.")
    return TrainingOutcome(ok, run_id, f"See the workflow run: {html_url}", 0.0, message)


def training_job_for(pull: PullRequest, sha: str) -> TrainingJob:
    """The job a workflow run trained: the PR's head, or its merge commit."""
    trigger = "merge" if pull.merged and sha == pull.merge_commit_sha else "pull_request"
    return TrainingJob(repo=pull.repo, sha=sha, pr=pull.number, branch=pull.head_ref, trigger=trigger)
