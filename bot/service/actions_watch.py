"""Actions-only mode for the production watch: `mlbot watch --post` keeps the watch issue up to date,
and `mlbot watch --refresh ISSUE --post` (the refresh job of mlbot-watch.yml) answers a `/retrain`."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.runners import changes
from bot.adapters.runners.default_branch import BY_ENV, ISSUE_ENV
from bot.adapters.runners.local import run_git
from bot.core.config import Project
from bot.core.errors import MlbotError, UsageError
from bot.core.watch_report import WatchSummary
from bot.service.actions_mode import actions_forge
from bot.service.settings import Settings, actions_environment, scrubbed_environment
from bot.training.fit import stream
from bot.usecases.watch import sync_watch_issue
from bot.usecases.watch_commands import Refreshed, propose_refresh, say_refresh_failed


def watch_in_actions(settings: Settings, summary: WatchSummary, *, close_after: int) -> str:
    """Open, update or close this repository's watch issue for `summary`; say what was done."""
    env = actions_environment()
    if env is None:
        raise UsageError("--post works inside a GitHub Actions job (GITHUB_REPOSITORY and GITHUB_EVENT_PATH "
                         "are not set)", hint="run `mlbot watch` without --post here, or from mlbot-watch.yml")
    outcome = sync_watch_issue(actions_forge(env, settings), env.repository, summary, close_after=close_after)
    return outcome.describe(summary)


def refresh_in_actions(settings: Settings, project: Project, issue: int, by: str) -> str:
    """The refresh job of mlbot-watch.yml: run `watch.refresh` in this checkout, propose what changed.

    The bot's `/retrain` in the watch issue dispatched this run; the pull request it opens is trained
    and judged like any other. The command runs without the workflow token in its environment.
    """
    env = actions_environment()
    if env is None:
        raise UsageError("--refresh --post works inside a GitHub Actions job (GITHUB_REPOSITORY and "
                         "GITHUB_EVENT_PATH are not set)", hint="it is the refresh job of mlbot-watch.yml")
    watch = project.config.watch
    if watch is None or not watch.refresh:
        raise UsageError("mlbot.yaml sets no watch.refresh, so there is no data-refresh command to run",
                         hint="add watch.refresh to mlbot.yaml on the default branch (docs/watch.md)")
    forge = actions_forge(env, settings)
    root = Path(_git_text(["rev-parse", "--show-toplevel"], project.root))
    sha = _git_text(["rev-parse", "HEAD"], root)
    branch = forge.default_branch(env.repository)
    command_env = scrubbed_environment({ISSUE_ENV: str(issue), BY_ENV: by})
    code, tail = stream(["/bin/sh", "-c", watch.refresh], project.root, command_env, print)
    if code != 0:
        message = f"the refresh command `{watch.refresh}` exited with code {code} (see {env.run_url or 'the run'})"
        say_refresh_failed(forge, env.repository, issue, by, message, "\n".join(tail))
        raise MlbotError(message)
    found = changes.after_refresh(root, sha, run_git)
    if found.problem:
        say_refresh_failed(forge, env.repository, issue, by, found.problem)
        raise MlbotError(found.problem)
    pull = propose_refresh(forge, Refreshed(env.repository, issue, project.config.model, by, branch, sha,
                                            watch.refresh, found.files), key=f"run{env.run_id or sha[:12]}")
    return f"opened #{pull.number} ({pull.html_url}) with {len(found.files)} refreshed file(s)"


def _git_text(args: list[str], cwd: Path) -> str:
    code, out, complaint = run_git(args, cwd)
    if code != 0:
        raise MlbotError(f"git {args[0]} failed in {cwd}: {complaint[:300]}",
                         hint="run the refresh job in a checkout of the repository (actions/checkout)")
    return out.decode().strip()
