"""What handlers read before acting: the base branch's config and policies, gate facts, approvals.

Everything is read fresh through the Forge port at the moment of the decision (SPEC §5): a PR can
neither loosen its own gates (they come from the base branch) nor rely on stale approvals.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.authz import Approval, review_facts
from bot.core.config import ProjectConfig, parse_project
from bot.core.errors import ConfigError, Problem
from bot.core.judge.gates import GateContext
from bot.core.paths import CONFIG_FILE, POLICIES_DIR
from bot.ports import CheckConclusion, CheckOutput, CheckRun, CheckStatus, Comment, Forge, PullRequest

TRAIN_CHECK = "mlbot/train"
GATES_CHECK = "mlbot/gates"
APPROVAL = re.compile(r"<!-- mlbot:ok-to-retrain sha=([0-9a-f]{7,40}) by=([^\s>]+) -->")
WAITING = "<!-- mlbot:waiting sha={sha} -->"
STATUS_AS_CONCLUSION = {"success": "success", "failure": "failure", "error": "failure", "pending": None}


@dataclass(frozen=True)
class RepoSettings:
    """`mlbot.yaml` and `policies/*.yaml` as they are at `ref` (the base branch)."""

    config: ProjectConfig
    policies: dict[str, str]
    ref: str


class NotConfigured(Exception):
    """The repository has no `mlbot.yaml` at that ref: mlbot has nothing to do there."""


def read_settings(forge: Forge, repo: str, ref: str) -> RepoSettings:
    """Read and validate the project file and policies at `ref`; ConfigError names file and key."""
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
    return RepoSettings(config, policies, ref)


def gate_context(forge: Forge, pull: PullRequest) -> GateContext:
    """Review and check facts for the gates, read now: approvals (author excluded) and conclusions."""
    facts = review_facts(forge.list_reviews(pull.repo, pull.number), author=pull.author)
    conclusions: dict[str, str | None] = {}
    for status in forge.list_commit_statuses(pull.repo, pull.head_sha):
        conclusions.setdefault(status.context, STATUS_AS_CONCLUSION.get(status.state))
    for run in forge.list_check_runs(pull.repo, pull.head_sha):
        if not run.name.startswith("mlbot/"):
            conclusions[run.name] = run.conclusion if run.status == "completed" else None
    return GateContext(approvals=facts.approvers, author=pull.author, check_conclusions=conclusions)


def approval_marker(sha: str, login: str) -> str:
    """The hidden line the bot writes when someone says /ok-to-retrain for `sha`."""
    return f"<!-- mlbot:ok-to-retrain sha={sha} by={login} -->"


def bot_comments(forge: Forge, pull: PullRequest, bot_login: str) -> list[Comment]:
    """The bot's own comments on the PR: only they carry markers that count."""
    return [c for c in forge.list_comments(pull.repo, pull.number) if c.author.lower() == bot_login.lower()]


def approvals(comments: Iterable[Comment]) -> list[Approval]:
    """The /ok-to-retrain approvals recorded in the bot's comments."""
    return [Approval(sha=m.group(1), approver=m.group(2)) for c in comments for m in APPROVAL.finditer(c.body)]


def find_check(forge: Forge, repo: str, sha: str, name: str) -> CheckRun | None:
    """The newest check run called `name` on `sha`, if any."""
    runs = [r for r in forge.list_check_runs(repo, sha) if r.name == name]
    return max(runs, key=lambda r: r.id) if runs else None


def set_check(
    forge: Forge, repo: str, sha: str, name: str, *, status: CheckStatus,
    conclusion: CheckConclusion | None = None, title: str, summary: str, text: str | None = None,
    details_url: str | None = None,
) -> None:
    """Create the check run on `sha`, or update the one that is there (one check per name and sha)."""
    output = CheckOutput(title=title, summary=summary[:65_000], text=text[:65_000] if text else None)
    existing = find_check(forge, repo, sha, name)
    if existing is None:
        forge.create_check_run(repo, sha, name, status=status, conclusion=conclusion, output=output,
                               details_url=details_url)
    else:
        forge.update_check_run(repo, existing.id, status=status, conclusion=conclusion, output=output,
                               details_url=details_url)


def bullet_problems(problems: Iterable[Problem]) -> str:
    """Markdown bullets, one per problem."""
    return "\n".join(f"- `{p}`" for p in problems)


_locks_guard = threading.Lock()
_locks: dict[tuple[object, ...], threading.Lock] = {}


def keyed_lock(*key: object) -> threading.Lock:
    """The lock of `key` in this process: one writer at a time per pull request, or per repository."""
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())
