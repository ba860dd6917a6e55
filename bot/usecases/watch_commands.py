"""Commands in the watch issue: `/retrain` refreshes the training data into a pull request, `/snooze`, `/status`.

The watch issue is recognised live: the bot's own issue whose first line is a watch marker
(`bot.core.markers`), so nobody can make an issue of theirs answer as one. Its model and alias come
from that marker; the rules (`watch:` in mlbot.yaml) from the default branch, as for a scheduled watch.
`/retrain` runs `watch.refresh` where the repository trains (`ci.runner`): the local runner gives
back the changed files and the bot opens the pull request; on Actions the watch workflow does both.
The pull request is then trained and judged like any other (the bot is its author: trusted like a
same-repository author with write access, since only a writer's `/retrain` makes one).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from bot.core import markers
from bot.core.authz import same_login
from bot.core.cron import next_due, parse_cron
from bot.core.errors import MlbotError, ShuttingDown
from bot.core.report import escape_md, fence_block
from bot.core.watch_report import when
from bot.ports import Context, Forge, PullRequest, RefreshJob, Snooze
from bot.usecases import jobs
from bot.usecases.repo_state import RepoSettings, read_settings
from bot.usecases.training import start_training

log = logging.getLogger("mlbot.watch")
MAX_LISTED_FILES = 20


@dataclass(frozen=True)
class WatchIssue:
    """The bot's watch issue `number` of `model`@`alias` in `repo`."""

    repo: str
    number: int
    model: str
    alias: str


def watch_issue(ctx: Context, repo: str, number: int) -> WatchIssue | None:
    """The watch issue `number` is, read live; None when it is any other issue."""
    issue = ctx.forge.get_issue(repo, number)
    marker = markers.read(issue.body)
    if marker is None or marker.kind != "watch" or not same_login(issue.author, ctx.bot_login):
        return None
    return WatchIssue(repo, number, marker.get("model"), marker.get("alias"))


def watched_by(issue: WatchIssue, settings: RepoSettings) -> str | None:
    """Why the default branch's mlbot.yaml does not watch this issue's model, or None when it does."""
    config = settings.config
    if config.watch is None:
        return "mlbot.yaml on the default branch has no `watch:` section any more"
    if (config.model, config.promote.alias) != (issue.model, issue.alias):
        return (f"mlbot.yaml on the default branch watches {escape_md(config.model)}@"
                f"{escape_md(config.promote.alias)}, not {escape_md(issue.model)}@{escape_md(issue.alias)}")
    return None


def snooze(ctx: Context, issue: WatchIssue, seconds: int, *, by: str, now: float | None = None) -> str:
    """Record (0: end) the snooze of the issue's model; say what it means."""
    if seconds == 0:
        ctx.tracker.snooze_watch(issue.model, issue.alias, None)
        return (f"the snooze is off: the next failing window of {escape_md(issue.model)}@{escape_md(issue.alias)} "
                "opens or updates this issue and fails the scheduled job again.")
    until = (time.time() if now is None else now) + seconds
    ctx.tracker.snooze_watch(issue.model, issue.alias, Snooze(until, by))
    return (f"snoozed until {when(until)}: windows are still judged and logged, and this issue is kept up to "
            "date, but mlbot opens no new watch issue and the scheduled job does not fail. If the model still "
            "needs attention when the snooze ends, mlbot says so here. `/snooze off` ends it early.")


def status(ctx: Context, issue: WatchIssue, settings: RepoSettings, *, now: float | None = None) -> str:
    """The latest window's verdict, the snooze, and when the next window is due."""
    config = settings.config
    assert config.watch is not None
    moment = time.time() if now is None else now
    lines = [f"**{escape_md(issue.model)}@{escape_md(issue.alias)}**"]
    latest = ctx.tracker.latest_watch(config.experiment_name, issue.model, issue.alias)
    if latest is None:
        lines.append("- no window has been judged yet")
    else:
        summary, ran = latest
        verdict = "✅ healthy" if summary.healthy else "❌ needs attention"
        lines.append(f"- latest window ({when(ran)}, {summary.rows} rows, production v{escape_md(summary.version)}): "
                     f"{verdict}")
        lines.append(f"- drift: {len(summary.drifted)} of {summary.features} features ({summary.drift_share:.0%})")
        if summary.primary_value is not None:
            lines.append(f"- {escape_md(summary.primary)} on labelled rows: {summary.primary_value:.4g}")
        failing = [g for g in summary.gates if g.blocking and g.verdict == "fail"]
        lines += [f"- failing: {escape_md(g.name)}: {escape_md(g.reason)}" for g in failing]
        run = f"[{summary.run_id}]({summary.run_url})" if summary.run_url else f"`{escape_md(summary.run_id)}`"
        lines.append(f"- monitoring run {run}")
    snoozed = ctx.tracker.watch_snooze(issue.model, issue.alias)
    if snoozed is not None and snoozed.until > moment:
        lines.append(f"- snoozed until {when(snoozed.until)} by {escape_md('@' + snoozed.by)}")
    else:
        lines.append("- not snoozed")
    due = next_due(parse_cron(config.watch.schedule), datetime.fromtimestamp(moment, UTC))
    lines.append(f"- next window: {due.strftime('%Y-%m-%d %H:%M UTC') if due else 'never'} "
                 f"(`{escape_md(config.watch.schedule)}`)")
    return "\n".join(lines)


# --- /retrain: refresh the training data into a pull request ------------------------------------


@dataclass(frozen=True)
class RefreshRequested:
    """Run `watch.refresh` for the watch issue `issue` of `repo`, as `by` asked in comment `comment_id`."""

    kind: ClassVar[str] = "mlbot.refresh"
    repo: str
    issue: int
    model: str
    alias: str
    by: str
    comment_id: int

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> RefreshRequested:
        return cls(str(payload["repo"]), int(payload["issue"]), str(payload["model"]), str(payload["alias"]),
                   str(payload["by"]), int(payload["comment_id"]))


def request_refresh(ctx: Context, issue: WatchIssue, settings: RepoSettings, *, by: str, comment_id: int) -> str:
    """Queue the refresh (once per comment); say what happens next."""
    config = settings.config
    assert config.watch is not None
    if not config.watch.refresh:
        raise MlbotError("mlbot.yaml has no watch.refresh, the command that refreshes the training data",
                         hint="add watch.refresh on the default branch (docs/watch.md), then comment /retrain")
    job = RefreshRequested(issue.repo, issue.number, issue.model, issue.alias, by, comment_id)
    jobs.enqueue(ctx.queue, job, f"refresh:{issue.repo.lower()}:{comment_id}")
    where = "in the mlbot-watch workflow" if config.ci.runner == "actions" else "on the bot's runner"
    return (f"running `{escape_md(config.watch.refresh)}` on the default branch {where}; the pull request with the "
            "refreshed data will be linked here, then trained and judged against production like any other.")


def refresh_branch(model: str, key: object) -> str:
    """One branch per asking comment (or workflow run): a retried job finds its own branch and pull request."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")[:40] or "model"
    return f"mlbot/refresh-{slug}-{key}"


@dataclass(frozen=True)
class Refreshed:
    """What a refresh of the default branch at `sha` changed, to be proposed for watch issue `issue`."""

    repo: str
    issue: int
    model: str
    by: str
    branch: str  # the default branch
    sha: str
    command: str
    files: Mapping[str, bytes | None]


def propose_refresh(forge: Forge, done: Refreshed, *, key: object) -> PullRequest:
    """Open the refreshed data's pull request (once per `key`) and link it from the watch issue."""
    listed = sorted(done.files)
    changes = [f"- `{escape_md(path)}`" + (" (deleted)" if done.files[path] is None else "")
               for path in listed[:MAX_LISTED_FILES]]
    changes += [f"- … and {len(listed) - MAX_LISTED_FILES} more"] if len(listed) > MAX_LISTED_FILES else []
    body = "\n".join([
        f"The training data of **{escape_md(done.model)}**, refreshed by `{escape_md(done.command)}` on "
        f"`{escape_md(done.branch)}` ({done.sha[:7]}) at {escape_md('@' + done.by)}'s request in #{done.issue}.", "",
        *changes, "",
        "mlbot trains this pull request and compares it with production like any other; merge it when the "
        "gates pass to promote the refreshed model."])
    pull = forge.propose_change(done.repo, base=done.branch, base_sha=done.sha, branch=refresh_branch(done.model, key),
                                files=done.files, message=f"Refresh the training data of {done.model}",
                                title=f"Refresh the training data of {done.model} (watch #{done.issue})", body=body)
    forge.create_comment(done.repo, done.issue, f"@{done.by} opened #{pull.number} with the refreshed training data "
                         f"({len(listed)} file{'s' if len(listed) != 1 else ''}); its report will compare the "
                         "refreshed model with production.")
    return pull


def say_refresh_failed(forge: Forge, repo: str, issue: int, by: str, message: str, log_tail: str = "") -> None:
    """Tell the watch issue why `/retrain` opened no pull request, with the log's tail."""
    log_part = f"\n\n{fence_block(log_tail)}" if log_tail.strip() else ""
    forge.create_comment(repo, issue, f"@{by} `/retrain` did not open a pull request: {escape_md(message)}{log_part}")


def run_refresh(ctx: Context, job: RefreshRequested) -> None:
    """Run the refresh where the repository trains and open the pull request; tell the watch issue either way."""
    branch = ctx.forge.default_branch(job.repo)
    sha = ctx.forge.branch_sha(job.repo, branch)
    config = read_settings(ctx, job.repo, sha).config
    runner = ctx.runners.get(config.ci.runner)
    if runner is None:
        say_refresh_failed(ctx.forge, job.repo, job.issue, job.by,
                           f"this bot has no {config.ci.runner} runner to run the refresh on.")
        return
    outcome = runner.refresh(RefreshJob(job.repo, branch, sha, job.issue, job.by, job.comment_id,
                                        ctx.forge.clone_url(job.repo)))
    if runner.stopping:  # SIGTERM cut it short: the queue runs the refresh again after the restart
        raise ShuttingDown(f"the refresh of {job.repo} for #{job.issue} was stopped by a shutdown")
    if outcome is None:
        log.info("dispatched the refresh of %s for %s#%s", job.model, job.repo, job.issue)
        return
    if not outcome.ok:
        say_refresh_failed(ctx.forge, job.repo, job.issue, job.by, outcome.message, outcome.log_tail)
        return
    command = config.watch.refresh if config.watch and config.watch.refresh else ""
    pull = propose_refresh(ctx.forge, Refreshed(job.repo, job.issue, job.model, job.by, branch, sha, command,
                                                outcome.files), key=job.comment_id)
    # the bot ignores the webhooks its own pull request sends (loop safety), so it starts the training itself
    start_training(ctx, pull, trigger="pull_request")
