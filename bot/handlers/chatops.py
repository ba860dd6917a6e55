"""ChatOps: comment commands on pull requests — 👀 on receipt, 🚀 or 😕 at the end, and a reply.

Authorization is checked live, at execution time, with the commenter's real role (SPEC §5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.authz import Actor, authorize
from bot.core.commands import CommandError, ParsedCommand, parse_comment, render_help, validate_retrain_params
from bot.core.errors import ConfigError, MlbotError
from bot.core.events import Event, IssueCommentEvent
from bot.handlers import lifecycle
from bot.handlers.promotion import announce
from bot.handlers.reporting import complete_gates_check, judge, publish_report
from bot.handlers.routing import Router
from bot.ports import Context, PullRequest
from bot.usecases.assess import describe_gate, promote_candidate
from bot.usecases.repo_state import NotConfigured, RepoSettings, approval_marker, gate_context, read_settings

log = logging.getLogger("mlbot.chatops")
router = Router()


@dataclass(frozen=True)
class Reply:
    ok: bool
    text: str


@router.register("issue_comment", "created")
def on_comment(event: Event, ctx: Context) -> None:
    """Run every command in a new comment (edits are ignored: only `created` is routed)."""
    if not isinstance(event, IssueCommentEvent) or event.author.lower() == ctx.bot_login.lower():
        return
    mention = ctx.bot_login.removesuffix("[bot]")
    found = parse_comment(event.body, bot_mention=mention)
    if not found:
        return
    ctx.forge.add_reaction(event.repo, event.comment_id, "eyes")
    if not event.is_pull_request:
        finish(ctx, event, [Reply(False, "mlbot commands work on pull requests, not on issues.")])
        return
    replies: list[Reply] = []
    for item in found:
        if isinstance(item, CommandError):
            replies.append(Reply(False, item.message))
            continue
        try:
            replies.append(run_command(ctx, event, item))
        except MlbotError as error:
            replies.append(Reply(False, f"`/{item.verb}` failed: {error}"))
    finish(ctx, event, replies)


def finish(ctx: Context, event: IssueCommentEvent, replies: list[Reply]) -> None:
    """One reply quoting the command's outcome(s), then 🚀 if all went well, else 😕."""
    ok = all(r.ok for r in replies)
    body = f"@{event.author} " + "\n\n".join(r.text for r in replies)
    ctx.forge.create_comment(event.repo, event.number, body)
    ctx.forge.add_reaction(event.repo, event.comment_id, "rocket" if ok else "confused")


def run_command(ctx: Context, event: IssueCommentEvent, command: ParsedCommand) -> Reply:
    """Authorize `command` for its author right now, then carry it out."""
    if command.verb == "help":
        return Reply(True, render_help(bot_mention=ctx.bot_login.removesuffix("[bot]")))
    pull = ctx.forge.get_pull(event.repo, event.number)
    try:
        settings = read_settings(ctx.forge, pull.repo, pull.base_ref)
    except NotConfigured:
        return Reply(False, f"{pull.repo} has no mlbot.yaml on {pull.base_ref}; run `mlbot init` to add one.")
    except ConfigError as error:
        return Reply(False, f"mlbot.yaml or a policy on {pull.base_ref} is invalid: {error.message}")
    actor = Actor(repo=pull.repo, login=event.author, permission=ctx.forge.permission(pull.repo, event.author),
                  pr_author=pull.author, pr_from_fork=pull.from_fork,
                  promoters=tuple(settings.config.commands.promoters))
    decision = authorize(command.verb, actor)
    if not decision.allowed:
        return Reply(False, f"I did not run `/{command.verb}`: {decision.reason}")
    handler = VERBS[command.verb]
    return handler(ctx, pull, settings, command, event.author)


def retrain(ctx: Context, pull: PullRequest, settings: RepoSettings, command: ParsedCommand, by: str) -> Reply:
    config = settings.config
    params = validate_retrain_params(command.args, list(config.commands.retrain_params), config.train.params)
    what = lifecycle.start_training(ctx, pull, trigger="command", params=params)
    return Reply(True, f"`/retrain`: {what}.")


def ok_to_retrain(ctx: Context, pull: PullRequest, settings: RepoSettings, command: ParsedCommand,
                  by: str) -> Reply:
    ctx.forge.create_comment(pull.repo, pull.number, f"{approval_marker(pull.head_sha, by)}\n"
                             f"@{by} approved training of {pull.head_sha[:7]}. A new push needs a new "
                             "`/ok-to-retrain`.")
    what = lifecycle.start_training(ctx, pull, trigger="command")
    return Reply(True, f"`/ok-to-retrain` for {pull.head_sha[:7]}: {what}.")


def latest_run(ctx: Context, pull: PullRequest, settings: RepoSettings) -> str:
    run_id = ctx.tracker.find_run(settings.config.experiment_name, pull.head_sha) if ctx.tracker else None
    if run_id is None:
        raise MlbotError(f"there is no finished training run of {pull.head_sha[:7]} yet",
                         hint="wait for the mlbot/train check, or comment /retrain")
    return run_id


def report(ctx: Context, pull: PullRequest, settings: RepoSettings, command: ParsedCommand, by: str) -> Reply:
    publish_report(ctx, pull, latest_run(ctx, pull, settings))
    return Reply(True, "`/report`: the report above is up to date.")


def gates(ctx: Context, pull: PullRequest, settings: RepoSettings, command: ParsedCommand, by: str) -> Reply:
    assessment = judge(ctx, pull, latest_run(ctx, pull, settings), settings)
    complete_gates_check(ctx, pull, assessment)
    lines = "\n".join(f"- {describe_gate(r)}" for r in assessment.evaluation.results)
    verdict = "promotable" if assessment.promotable else "not promotable"
    return Reply(True, f"`/gates`: {verdict}.\n\n{lines}")


def promote(ctx: Context, pull: PullRequest, settings: RepoSettings, command: ParsedCommand, by: str) -> Reply:
    if ctx.tracker is None:
        raise MlbotError("this bot has no MLflow tracker configured")
    force = "force" in command.flags
    outcome = promote_candidate(settings.config, latest_run(ctx, pull, settings), tracker=ctx.tracker, by=by,
                                policies=settings.policies, force=force, reason=command.reason or "",
                                context=gate_context(ctx.forge, pull), pr=pull.number, mlflow_url=ctx.mlflow_url)
    if not outcome.promotion.changed:
        return Reply(True, f"`/promote`: v{outcome.promotion.version} already is production; nothing moved.")
    announce(ctx, pull, settings, outcome.promotion, ref=pull.head_sha)
    return Reply(True, f"`/promote`: done{' (forced: ' + (command.reason or '') + ')' if force else ''}.")


def rollback(ctx: Context, pull: PullRequest, settings: RepoSettings, command: ParsedCommand, by: str) -> Reply:
    if ctx.tracker is None:
        raise MlbotError("this bot has no MLflow tracker configured")
    config = settings.config
    to = str(command.version) if command.version is not None else None
    promotion = ctx.tracker.rollback(config.model, by=by, reason=command.reason or f"/rollback on #{pull.number}",
                                     to=to, alias=config.promote.alias, pr=pull.number)
    if not promotion.changed:
        return Reply(True, f"`/rollback`: v{promotion.version} already is production; nothing moved.")
    ref = promotion.entry.sha if promotion.entry and promotion.entry.sha else pull.base_sha
    announce(ctx, pull, settings, promotion, ref=ref, verb="rolled back")
    return Reply(True, f"`/rollback`: production is v{promotion.version} again (was v{promotion.previous}).")


VERBS = {
    "retrain": retrain, "ok-to-retrain": ok_to_retrain, "report": report, "gates": gates,
    "promote": promote, "rollback": rollback,  # /help is answered before any of these is looked up
}
