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

from bot.errors import MlbotError, NotFound, UsageError
from bot.github_auth import TokenCredentials
from bot.github_client import GitHubForge
from bot.github_retry import RetryPolicy
from bot.paths import CONFIG_FILE, POLICIES_DIR
from bot.ports import Forge, PullRequest
from bot.settings import ActionsEnvironment, Settings

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
        return ActionsTrigger(event, repo, sha=str(payload.get("after") or head.get("id") or ""),
                              ref=str(payload.get("ref") or ""),
                              commit_message=str(head.get("message") or ""), run_url=run_url)
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


def base_files(forge: Forge, repo: str, base_sha: str) -> tuple[str, dict[str, str]]:
    """mlbot.yaml and every policies/*.yaml at the base commit, read through the API."""
    config = forge.get_file(repo, CONFIG_FILE, base_sha)
    if config is None:
        raise MlbotError(f"{CONFIG_FILE} does not exist on the base branch ({base_sha[:12]})",
                         hint="merge mlbot.yaml (e.g. from `mlbot init`) into the base branch first")
    policies: dict[str, str] = {}
    for path in sorted(forge.list_directory(repo, POLICIES_DIR.rstrip("/"), base_sha)):
        if path.endswith((".yaml", ".yml")):
            text = forge.get_file(repo, path, base_sha)
            if text is not None:
                policies[path] = text.decode()
    return config.decode(), policies


def actions_forge(env: ActionsEnvironment, settings: Settings) -> GitHubForge:
    """The forge for this job: the workflow token against `GITHUB_API_URL`."""
    if not env.token:
        raise UsageError("GITHUB_TOKEN is not set, so I cannot post to the pull request",
                         hint="add `env: {GITHUB_TOKEN: ${{ github.token }}}` to the step")
    login = settings.bot_login if "bot_login" in settings.model_fields_set else ACTIONS_BOT_LOGIN
    policy = RetryPolicy(attempts=settings.github_retry_attempts, max_wait=settings.github_retry_max_wait)
    return GitHubForge(env.api_url, TokenCredentials(env.token), bot_login=login, policy=policy)
