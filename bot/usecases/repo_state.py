"""What a decision reads from the repository: the base commit's config and policies, and gate facts.

Config and policies are read at one ref per job — the pull request's base sha — and validated
together, so a typo in a policy is reported before anything trains. Reads at a commit sha are
remembered for the process (a commit's files never change); gate facts are always read live.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core import markers
from bot.core.authz import Approval, review_facts
from bot.core.config import ProjectConfig, parse_project
from bot.core.errors import ConfigError, Problem
from bot.core.judge.gates import GateContext
from bot.core.paths import CONFIG_FILE, POLICIES_DIR
from bot.core.policy import PolicySet, load_policies, policy_problems
from bot.core.types import Comment, PullRequest
from bot.ports import Context, Forge
from bot.usecases.memo import remembered

STATUS_AS_CONCLUSION = {"success": "success", "failure": "failure", "error": "failure", "pending": None}
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class RepoSettings:
    """`mlbot.yaml` and `policies/*.yaml` as they are at `ref` (the base commit), validated together."""

    config: ProjectConfig
    policies: dict[str, str]
    ref: str

    @property
    def policy(self) -> PolicySet:
        return load_policies(self.policies)


class NotConfigured(Exception):
    """The repository has no `mlbot.yaml` at that ref: mlbot has nothing to do there."""


def settings_ref(pull: PullRequest) -> str:
    """The one ref a job reads configuration at: the pull request's base sha (its base branch if unknown)."""
    return pull.base_sha or pull.base_ref


def read_settings(ctx: Context, repo: str, ref: str) -> RepoSettings:
    """The validated config and policies at `ref`; ConfigError names each file, key and problem."""
    if FULL_SHA.match(ref):
        return remembered(ctx, ("settings", repo.lower(), ref), lambda: load_settings(ctx.forge, repo, ref))
    return load_settings(ctx.forge, repo, ref)


def load_settings(forge: Forge, repo: str, ref: str) -> RepoSettings:
    """Read and validate the project file and the policies at `ref` through the forge."""
    raw = forge.get_file(repo, CONFIG_FILE, ref)
    if raw is None:
        raise NotConfigured(f"{repo} has no {CONFIG_FILE} at {ref}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([Problem(CONFIG_FILE, "", "is not UTF-8 text")]) from None
    config = parse_project(text, CONFIG_FILE)
    policies: dict[str, str] = {}
    for path in forge.list_directory(repo, POLICIES_DIR.rstrip("/"), ref):
        name = path if "/" in path else f"{POLICIES_DIR}{path}"
        if name.endswith((".yaml", ".yml")):
            body = forge.get_file(repo, name, ref)
            if body is not None:
                policies[name] = body.decode("utf-8", errors="replace")
    problems = policy_problems(policies, config.metric_names, config.data.slices, config.task)
    if problems:
        raise ConfigError(problems, hint=f"fix {POLICIES_DIR} on the base branch, then push again")
    return RepoSettings(config, policies, ref)


def changed_files(ctx: Context, pull: PullRequest) -> list[str]:
    """The files the pull request changes, as of its head (remembered per head sha)."""
    return remembered(ctx, ("files", pull.repo.lower(), pull.number, pull.head_sha),
                      lambda: ctx.forge.list_pull_files(pull.repo, pull.number))


def gate_context(forge: Forge, pull: PullRequest, policy: PolicySet) -> GateContext:
    """Review and check facts, read now, and only those the policy's gates look at."""
    kinds = {gate.kind for gate in policy.gates}
    approvers: tuple[str, ...] = ()
    if "review" in kinds:
        approvers = tuple(review_facts(forge.list_reviews(pull.repo, pull.number), author=pull.author).approvers)
    conclusions: dict[str, str | None] = {}
    if "checks" in kinds:
        for status in forge.list_commit_statuses(pull.repo, pull.head_sha):
            conclusions.setdefault(status.context, STATUS_AS_CONCLUSION.get(status.state))
        for run in forge.list_check_runs(pull.repo, pull.head_sha):
            if not run.name.startswith("mlbot/"):
                conclusions[run.name] = run.conclusion if run.status == "completed" else None
    return GateContext(approvals=approvers, author=pull.author, check_conclusions=conclusions)


def approval_marker(sha: str, login: str) -> str:
    """The first line the bot writes when someone with write access says /ok-to-retrain for `sha`."""
    return markers.write("ok-to-retrain", sha=sha, by=login)


def waiting_marker(sha: str) -> str:
    """The first line of the bot's one comment per untrusted head asking for /ok-to-retrain."""
    return markers.write("waiting", sha=sha)


def bot_comments(ctx: Context, pull: PullRequest) -> list[Comment]:
    """The bot's own comments on the PR: only they carry markers that count."""
    me = ctx.bot_login.lower()
    return [c for c in ctx.forge.list_comments(pull.repo, pull.number) if c.author.lower() == me]


def approvals(comments: Iterable[Comment]) -> list[Approval]:
    """The /ok-to-retrain approvals recorded on the first line of the bot's own comments."""
    return [Approval(sha=m.get("sha"), approver=m.get("by"))
            for m in markers.of_kind((c.body for c in comments), "ok-to-retrain")]


def waiting_heads(comments: Iterable[Comment]) -> list[tuple[int, str]]:
    """(comment id, sha) of every head the bot asked approval for, oldest first."""
    found = []
    for comment in comments:
        mark = markers.read(comment.body)
        if mark is not None and mark.kind == "waiting":
            found.append((comment.id, mark.get("sha")))
    return sorted(found)


def bullet_problems(problems: Iterable[Problem]) -> str:
    """Markdown bullets, one per problem."""
    return "\n".join(f"- `{p}`" for p in problems)
