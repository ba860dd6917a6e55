"""ChatOps: comment commands on pull requests and in watch issues — 👀 on receipt, 🚀 or 😕 at the end, a reply.

Authorization is checked live, at execution time, with the commenter's real role (SPEC §5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.authz import Actor, authorize
from bot.core.commands import CommandError, ParsedCommand, parse_comment, render_help, validate_retrain_params
from bot.core.errors import ConfigError, MlbotError, Transient
from bot.core.events import Event, IssueCommentEvent, UnknownEvent
from bot.core.report import escape_md
from bot.core.types import PullRequest
from bot.handlers.routing import Router
from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.assess import describe_gate
from bot.usecases.promotion import announce, owed_effects, promote_or_refuse
from bot.usecases.repo_state import (
    NotConfigured,
    RepoSettings,
    gate_context,
    read_settings,
    settings_ref,
)
from bot.usecases.reporting import complete_gates_check, judge, publish_report
from bot.usecases.training import approve, start_training
from bot.usecases.watch_commands import (
    RefreshRequested,
    WatchIssue,
    request_refresh,
    run_refresh,
    snooze,
    status,
    watch_issue,
    watched_by,
)

log = logging.getLogger("mlbot.chatops")
router = Router()


@dataclass(frozen=True)
class Reply:
    ok: bool
    text: str


@dataclass(frozen=True)
class Request:
    """One command from one comment, about one pull request, with the base commit's settings."""

    pull: PullRequest
    settings: RepoSettings
    command: ParsedCommand
    by: str
    comment_id: int
    comment_url: str


@router.register("issue_comment", "created")
def on_comment(event: Event, ctx: Context) -> None:
    """Queue the commands of a new comment, once per comment id (edits are ignored: only `created` is routed).

    A delivery replayed under a new id, or redelivered by GitHub under its own, names the same
    comment: its commands never run twice.
    """
    if not isinstance(event, IssueCommentEvent) or event.author.lower() == ctx.bot_login.lower():
        return
    if not parse_comment(event.body, bot_mention=ctx.bot_login.removesuffix("[bot]")):
        return
    request = jobs.CommandRequested(repo=event.repo, number=event.number, is_pull_request=event.is_pull_request,
                                    comment_id=event.comment_id, body=event.body, author=event.author,
                                    html_url=event.html_url)
    if not jobs.enqueue(ctx.queue, request, f"command:{event.repo.lower()}:{event.comment_id}"):
        log.info("comment %s on %s#%s was already handled", event.comment_id, event.repo, event.number)


@router.register(jobs.CommandRequested.kind)
def run_comment(event: Event, ctx: Context) -> None:
    """Run every command in a comment: 👀 on receipt, a reply, then 🚀 if all went well, else 😕."""
    if not isinstance(event, UnknownEvent):
        return
    comment = jobs.CommandRequested.from_payload(event.payload)
    ctx.forge.add_reaction(comment.repo, comment.comment_id, "eyes")
    issue = None if comment.is_pull_request else watch_issue(ctx, comment.repo, comment.number)
    if not comment.is_pull_request and issue is None:
        finish(ctx, comment, [Reply(False, "mlbot commands work on pull requests and in mlbot's watch issues, "
                                           "not on other issues.")])
        return
    # a watch issue has verbs of its own
    found = parse_comment(comment.body, bot_mention=ctx.bot_login.removesuffix("[bot]"),
                          place="pull" if issue is None else "watch")
    replies: list[Reply] = []
    for item in found:
        if isinstance(item, CommandError):
            replies.append(Reply(False, item.message))  # commands.py quotes what the user typed
            continue
        try:
            replies.append(run_command(ctx, comment, item) if issue is None
                           else run_watch_command(ctx, comment, issue, item))
        except Transient:
            raise  # GitHub or MLflow is down: the queue retries the whole comment later
        except MlbotError as error:
            replies.append(Reply(False, f"`/{item.verb}` failed: {escape_md(error)}"))
    finish(ctx, comment, replies)


def finish(ctx: Context, event: jobs.CommandRequested, replies: list[Reply]) -> None:
    """One reply quoting the command's outcome(s), then 🚀 if all went well, else 😕."""
    ok = all(r.ok for r in replies)
    body = f"@{event.author} " + "\n\n".join(r.text for r in replies)
    ctx.forge.create_comment(event.repo, event.number, body)
    ctx.forge.add_reaction(event.repo, event.comment_id, "rocket" if ok else "confused")


def run_command(ctx: Context, event: jobs.CommandRequested, command: ParsedCommand) -> Reply:
    """Authorize `command` for its author right now, then carry it out."""
    if command.verb == "help":
        return Reply(True, render_help(bot_mention=ctx.bot_login.removesuffix("[bot]")))
    pull = ctx.forge.get_pull(event.repo, event.number)
    try:
        settings = read_settings(ctx, pull.repo, settings_ref(pull))
    except NotConfigured:
        return Reply(False, f"{escape_md(pull.repo)} has no mlbot.yaml on {escape_md(pull.base_ref)}; "
                            "run `mlbot init` to add one.")
    except ConfigError as error:
        return Reply(False, f"mlbot.yaml or a policy on {escape_md(pull.base_ref)} is invalid: "
                            f"{escape_md(error.message)}")
    actor = Actor(repo=pull.repo, login=event.author, permission=ctx.forge.permission(pull.repo, event.author),
                  pr_author=pull.author, pr_from_fork=pull.from_fork,
                  promoters=tuple(settings.config.commands.promoters))
    decision = authorize(command.verb, actor)
    if not decision.allowed:
        return Reply(False, f"I did not run `/{command.verb}`: {decision.reason}")  # our words, logins only
    request = Request(pull, settings, command, event.author, event.comment_id, event.html_url)
    return VERBS[command.verb](ctx, request)


def run_watch_command(ctx: Context, event: jobs.CommandRequested, issue: WatchIssue,
                      command: ParsedCommand) -> Reply:
    """Authorize a watch-issue command for its author right now (as on pull requests), then carry it out."""
    verb = command.verb
    if verb == "help":
        return Reply(True, render_help(bot_mention=ctx.bot_login.removesuffix("[bot]"), place="watch"))
    try:
        settings = read_settings(ctx, issue.repo, ctx.forge.default_branch(issue.repo))
    except NotConfigured:
        return Reply(False, f"{escape_md(issue.repo)} has no mlbot.yaml on its default branch any more.")
    except ConfigError as error:
        return Reply(False, f"mlbot.yaml or a policy on the default branch is invalid: {escape_md(error.message)}")
    unwatched = watched_by(issue, settings)
    if unwatched:
        return Reply(False, f"`/{verb}`: {unwatched}.")
    actor = Actor(repo=issue.repo, login=event.author, permission=ctx.forge.permission(issue.repo, event.author),
                  pr_author="", pr_from_fork=False, promoters=tuple(settings.config.commands.promoters))
    decision = authorize(verb, actor, place="watch")
    if not decision.allowed:
        return Reply(False, f"I did not run `/{verb}`: {decision.reason}")
    if verb == "snooze":
        assert command.duration is not None
        return Reply(True, f"`/snooze`: {snooze(ctx, issue, command.duration, by=event.author)}")
    if verb == "status":
        return Reply(True, f"`/status`:\n\n{status(ctx, issue, settings)}")
    return Reply(True, "`/retrain`: " + request_refresh(ctx, issue, settings, by=event.author,
                                                        comment_id=event.comment_id))


@router.register(RefreshRequested.kind)
def on_refresh_requested(event: Event, ctx: Context) -> None:
    """Run a watch issue's `/retrain`: refresh the data where the repository trains, open the pull request."""
    if isinstance(event, UnknownEvent):
        run_refresh(ctx, RefreshRequested.from_payload(event.payload))


def retrain(ctx: Context, r: Request) -> Reply:
    config = r.settings.config
    params = validate_retrain_params(r.command.args, list(config.commands.retrain_params), config.train.params)
    what = start_training(ctx, r.pull, trigger="command", params=params)  # a failed training is trained again
    return Reply(True, f"`/retrain`: {escape_md(what)}.")


def ok_to_retrain(ctx: Context, r: Request) -> Reply:
    what = approve(ctx, r.pull, by=r.by, comment_id=r.comment_id, named=r.command.sha)
    return Reply(what.startswith("approved"), f"`/ok-to-retrain`: {escape_md(what)}")


def latest_run(ctx: Context, r: Request) -> str:
    run_id = ctx.tracker.find_run(r.settings.config.experiment_name, r.pull.head_sha)
    if run_id is None:
        raise MlbotError(f"there is no finished training run of {r.pull.head_sha[:7]} yet",
                         hint="wait for the mlbot/train check, or comment /retrain")
    return run_id


def report(ctx: Context, r: Request) -> Reply:
    publish_report(ctx, r.pull, latest_run(ctx, r), r.settings, fresh=True)
    return Reply(True, "`/report`: the report above is up to date.")


def gates(ctx: Context, r: Request) -> Reply:
    assessment = judge(ctx, r.pull, latest_run(ctx, r), r.settings)
    complete_gates_check(ctx, r.pull, assessment)
    lines = "\n".join(f"- {escape_md(describe_gate(g))}" for g in assessment.evaluation.results)
    verdict = "promotable" if assessment.promotable else "not promotable"
    return Reply(True, f"`/gates`: {verdict}.\n\n{lines}")


def promote(ctx: Context, r: Request) -> Reply:
    force = "force" in r.command.flags
    reason = r.command.reason or ""
    config = r.settings.config
    asked = f"{reason or f'/promote on #{r.pull.number}'} ({r.comment_url})" if r.comment_url else reason
    decision = promote_or_refuse(config, latest_run(ctx, r), tracker=ctx.tracker, by=r.by,
                                 policies=r.settings.policies, force=force, reason=asked,
                                 context=gate_context(ctx.forge, r.pull, r.settings.policy), pr=r.pull.number,
                                 mlflow_url=ctx.mlflow_url, announce_on=(r.pull.repo, r.pull.number, r.pull.head_sha))
    if decision.refusal is not None:
        return Reply(False, f"`/promote`: {decision.refusal.markdown}")
    assert decision.promotion is not None
    announce(ctx, r.pull, r.settings, decision.promotion, ref=r.pull.head_sha)  # what a crash left, too
    if not decision.promotion.changed:
        return Reply(True, f"`/promote`: v{decision.promotion.version} already is production; nothing moved.")
    forced = f" (forced by @{r.by}: {escape_md(reason)}; recorded in the ledger with {r.comment_url})" if force else ""
    return Reply(True, f"`/promote`: done{forced}.")


def rollback(ctx: Context, r: Request) -> Reply:
    config, pull = r.settings.config, r.pull
    to = str(r.command.version) if r.command.version is not None else None
    reason = r.command.reason or f"/rollback on #{pull.number}"
    ref = pull.base_sha  # the tag and deployment point at what the PR was judged against
    promotion = ctx.tracker.rollback(config.model, by=r.by, to=to, alias=config.promote.alias, pr=pull.number,
                                     reason=f"{reason} ({r.comment_url})" if r.comment_url else reason,
                                     **owed_effects(config, (pull.repo, pull.number, ref)))
    announce(ctx, pull, r.settings, promotion, ref=ref, verb="rolled back")
    if not promotion.changed:
        return Reply(True, f"`/rollback`: v{promotion.version} already is production; nothing moved.")
    return Reply(True, f"`/rollback`: production is v{promotion.version} again (was v{promotion.previous}); "
                       f"asked by @{r.by}.")


VERBS = {
    "retrain": retrain, "ok-to-retrain": ok_to_retrain, "report": report, "gates": gates,
    "promote": promote, "rollback": rollback,  # /help is answered before any of these is looked up
}
