"""Actions-only mode: `mlbot report --post` and `mlbot promote` inside a GitHub Actions job.

The job's environment (read by `settings.actions_environment`) names the event file, the
repository and the workflow token. From the event we find the pull request; mlbot.yaml and the
policies come from the pull request's *base* commit through the API, never from the checked-out
tree (a pull request cannot loosen its own gates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.config import ProjectConfig
from bot.core.errors import MlbotError, NotFound, UsageError
from bot.ports import Context, Forge, Promotion, PullRequest
from bot.service import composition
from bot.service.settings import ActionsEnvironment, Settings, actions_environment
from bot.usecases.assess import Assessment
from bot.usecases.promotion import announce, promote_or_refuse
from bot.usecases.repo_state import NotConfigured, RepoSettings, gate_context, read_settings, settings_ref
from bot.usecases.reporting import publish_report

# Who comments with the workflow token; an installation token cannot ask GitHub (`GET /user`).
ACTIONS_BOT_LOGIN = "github-actions[bot]"
SUPPORTED_EVENTS = ("pull_request", "push", "workflow_dispatch")
# "Merge pull request #12 from owner/branch" (merge commit) or "Title (#12)" (squash merge).
_MERGE_TITLE = re.compile(r"^Merge pull request #(\d+)\b")
_SQUASH_TITLE = re.compile(r"\(#(\d+)\)\s*$")


@dataclass(frozen=True)
class ActionsTrigger:
    """What started this job, reduced to what reporting and promotion need."""

    event: str
    repo: str
    sha: str  # the pull request's head sha, or the pushed commit
    pr: int | None = None
    base_sha: str | None = None
    ref: str = ""
    commit_message: str = ""
    actor: str = ""  # who pushed or opened: the ledger's `by` for a promotion
    run_url: str | None = None


def trigger_from_event(event: str, payload: Mapping[str, Any], repo: str,
                       run_url: str | None = None) -> ActionsTrigger:
    """Read the trigger from an event name and its webhook payload."""
    if event == "pull_request":
        pull = payload.get("pull_request") or {}
        try:
            return ActionsTrigger(event, repo, sha=str(pull["head"]["sha"]), pr=int(pull["number"]),
                                  base_sha=str(pull["base"]["sha"]), ref=str(pull["base"]["ref"]),
                                  run_url=run_url)
        except (KeyError, TypeError, ValueError):
            raise UsageError("the pull_request event file has no pull request head and base",
                             hint="run this from a workflow triggered by pull_request") from None
    if event == "push":
        head = payload.get("head_commit") or {}
        actor = (payload.get("sender") or {}).get("login") or (payload.get("pusher") or {}).get("name")
        return ActionsTrigger(event, repo, sha=str(payload.get("after") or head.get("id") or ""),
                              ref=str(payload.get("ref") or ""),
                              commit_message=str(head.get("message") or ""), actor=str(actor or ""),
                              run_url=run_url)
    if event == "workflow_dispatch":
        inputs = payload.get("inputs") or {}
        pr = str(inputs.get("pr") or "").strip()
        return ActionsTrigger(event, repo, sha=str(inputs.get("sha") or ""),
                              pr=int(pr) if pr.isdigit() else None, run_url=run_url)
    raise UsageError(f"mlbot cannot act on the {event or 'unknown'} event in Actions-only mode",
                     hint="trigger the workflow on " + ", ".join(SUPPORTED_EVENTS))


def read_trigger(env: ActionsEnvironment) -> ActionsTrigger:
    """Read the job's event file."""
    try:
        payload = json.loads(env.event_path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the Actions event file {env.event_path}: {error}",
                         hint="run this inside a GitHub Actions job") from None
    return trigger_from_event(env.event_name, payload, env.repository, env.run_url)


def pull_number_from_message(message: str) -> int | None:
    """The pull request a merge or squash commit's first line names, if any."""
    first = message.splitlines()[0] if message else ""
    found = _MERGE_TITLE.search(first) or _SQUASH_TITLE.search(first)
    return int(found.group(1)) if found else None


def resolve_pull(forge: Forge, trigger: ActionsTrigger) -> PullRequest:
    """The pull request this job is about; for a push, the merged one whose commit was pushed."""
    number = trigger.pr if trigger.event != "push" else pull_number_from_message(trigger.commit_message)
    if number is None:
        raise NotFound(f"no pull request is associated with {trigger.event} {trigger.sha[:12]}",
                       hint="pushes that are not the merge of a pull request have nothing to promote")
    pull = forge.get_pull(trigger.repo, number)
    if trigger.event == "push" and not (pull.merged and pull.merge_commit_sha == trigger.sha):
        raise NotFound(f"pull request #{number} was not merged as {trigger.sha[:12]}",
                       hint="mlbot promotes only the merge commit of a merged pull request")
    return pull


class _NoQueue:
    """Actions-only mode runs one step at a time: nothing may be deferred to a worker."""

    def enqueue(self, kind: str, payload: Mapping[str, Any], *, key: str | None = None) -> bool:
        raise MlbotError(f"Actions-only mode cannot queue {kind!r}",
                         hint="run the mlbot server for work that needs a queue")

    def known(self, key: str) -> bool:
        return False

    def gave_up(self, key: str) -> bool:
        return False


def actions_forge(env: ActionsEnvironment, settings: Settings) -> Forge:
    """The forge for this job: the workflow token against `GITHUB_API_URL`."""
    if not env.token:
        raise UsageError("GITHUB_TOKEN is not set, so I cannot post to the pull request",
                         hint="add `env: {GITHUB_TOKEN: ${{ github.token }}}` to the step")
    # The workflow token's comments are github-actions[bot]'s; an installation token cannot ask GET /user.
    return composition.build_forge(settings, api_url=env.api_url, token=env.token,
                                   login=composition.explicit_login(settings) or ACTIONS_BOT_LOGIN)


def actions_context(env: ActionsEnvironment, settings: Settings) -> Context:
    """The ports for this job: the workflow token's forge and MLflow; nothing is queued."""
    return composition.build_context(settings, _NoQueue(), forge=actions_forge(env, settings), runners={})


def _base_settings(ctx: Context, pull: PullRequest) -> RepoSettings:
    try:  # the base commit: a pull request cannot loosen its own gates
        return read_settings(ctx, pull.repo, settings_ref(pull))
    except NotConfigured:
        raise MlbotError(f"{pull.repo} has no mlbot.yaml on {pull.base_ref}",
                         hint="merge mlbot.yaml (from `mlbot init`) into the base branch first") from None


def _candidate(ctx: Context, config: ProjectConfig, sha: str, run_id: str | None) -> str:
    found = run_id or ctx.tracker.find_run(config.experiment_name, sha)
    if not found:
        raise NotFound(f"no finished training run of {sha[:12]} in experiment {config.experiment_name}",
                       hint="run `mlbot train` (the workflow's train job) for that commit first")
    return str(found)


def report_in_actions(settings: Settings, *, run_id: str | None = None) -> Assessment | None:
    """Post the report and the `mlbot/gates` check for this job's pull request; None if superseded."""
    env = actions_environment()
    if env is None:
        raise UsageError("--post works inside a GitHub Actions job (GITHUB_EVENT_PATH is not set)",
                         hint="run it in the workflow's report job, or drop --post to print the report")
    trigger = read_trigger(env)
    ctx = actions_context(env, settings)
    pull = resolve_pull(ctx.forge, trigger)
    if trigger.sha and pull.head_sha != trigger.sha:
        return None  # a newer push is being judged by its own run
    base = _base_settings(ctx, pull)
    # None when the pull request moved on while this run was judged: its own run reports
    return publish_report(ctx, pull, _candidate(ctx, base.config, pull.head_sha, run_id), base,
                          details_url=env.run_url)


def promote_in_actions(settings: Settings) -> Promotion | None:
    """On a push of a merge commit: promote the merged pull request's model if its gates pass.

    Returns None outside GitHub Actions. Refusals comment on the pull request and raise
    PromotionRefused (exit 1); nothing moves.
    """
    env = actions_environment()
    if env is None:
        return None
    trigger = read_trigger(env)
    if trigger.event != "push":
        raise UsageError(f"mlbot promote in Actions runs on a push of a merge, not on {trigger.event}",
                         hint="run it from a job triggered by `push` to the default branch")
    ctx = actions_context(env, settings)
    pull = resolve_pull(ctx.forge, trigger)
    base = _base_settings(ctx, pull)  # the policies the pull request was judged by, not its own edits
    config = base.config
    decision = promote_or_refuse(config, _candidate(ctx, config, pull.head_sha, None), tracker=ctx.tracker,
                                 by=trigger.actor or pull.author, policies=base.policies,
                                 context=gate_context(ctx.forge, pull, base.policy),
                                 reason=f"merged #{pull.number}", pr=pull.number, mlflow_url=ctx.mlflow_url,
                                 announce_on=(pull.repo, pull.number, trigger.sha))
    if decision.refusal is not None:
        link = f"\n\n[workflow run]({env.run_url})" if env.run_url else ""
        ctx.forge.create_comment(pull.repo, pull.number, decision.refusal.markdown + link)
        raise decision.refusal.error()
    assert decision.promotion is not None
    announce(ctx, pull, base, decision.promotion, ref=trigger.sha)
    return decision.promotion
