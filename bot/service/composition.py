"""The composition root: every `Context` — `mlbot serve`, `mlbot worker`, the CLI, Actions mode, the
local stack — is built here, from `Settings`, and nowhere else.

The bot has one identity: `MLBOT_BOT_LOGIN` when set, else what GitHub says (`GET /app` → the
App's `<slug>[bot]`, or `GET /user` for a token), resolved once when the context is built.
Adapters are imported inside the builders: PyGithub and mlflow stay out of the edge's imports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.errors import ConfigError, Problem
from bot.ports import Context, Forge, JobQueue, Locks, Repositories, Runner, Tracker
from bot.service.settings import Settings

if TYPE_CHECKING:
    from bot.adapters.github.client import GitHubForge
    from bot.adapters.queue import DurableQueue

ContextFactory = Callable[[JobQueue], Context]


def absolute_tracking_uri(uri: str) -> str:
    """Anchor a relative `sqlite:///file.db` at the current directory: training runs elsewhere."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str((Path.cwd() / uri[len(prefix):]).resolve())
    return uri


def open_queue(settings: Settings) -> DurableQueue:
    """The durable queue at `MLBOT_QUEUE_URL` with the configured lease, attempts and backoff."""
    from bot.adapters.queue import open_queue as open_durable

    return open_durable(settings.queue_url, lease_seconds=settings.queue_lease_seconds,
                        max_attempts=settings.queue_max_attempts, retry_delay=settings.queue_retry_delay,
                        retry_for=settings.queue_retry_for, retry_max_delay=settings.queue_retry_max_delay)


def explicit_login(settings: Settings) -> str | None:
    """The bot login the operator set (MLBOT_BOT_LOGIN), if any: it wins over what GitHub says."""
    return settings.bot_login if "bot_login" in settings.model_fields_set else None


def build_forge(settings: Settings, *, api_url: str | None = None, token: str | None = None,
                login: str | None = None) -> GitHubForge:
    """GitHub (or GHES, or the sandbox) with a token, or as a GitHub App with installation tokens."""
    from bot.adapters.github.auth import AppCredentials, TokenCredentials
    from bot.adapters.github.client import GitHubForge
    from bot.adapters.github.retry import RetryPolicy

    url = api_url or settings.github_api_url
    policy = RetryPolicy(attempts=settings.github_retry_attempts, max_wait=settings.github_retry_max_wait)
    who = login or explicit_login(settings)
    if token or settings.github_token:
        return GitHubForge(url, TokenCredentials(token or settings.github_token or ""), bot_login=who,
                           policy=policy)
    key = settings.private_key()
    if settings.github_app_id and key:
        app = AppCredentials(settings.github_app_id, key, url, policy)
        return GitHubForge(url, app, bot_login=who, fallback_login=settings.bot_login, policy=policy)
    missing = "MLBOT_GITHUB_PRIVATE_KEY" if settings.github_app_id else "MLBOT_GITHUB_TOKEN"
    raise ConfigError(
        [Problem("environment", missing, "is not set, so I cannot talk to GitHub")],
        hint="set MLBOT_GITHUB_TOKEN, or MLBOT_GITHUB_APP_ID with MLBOT_GITHUB_PRIVATE_KEY(_FILE)",
    )


def build_tracker(settings: Settings) -> Tracker:
    """MLflow at `MLFLOW_TRACKING_URI` (a relative SQLite path anchored here), registry locks in the data dir."""
    from bot.adapters.mlflow.tracker import MlflowTracker

    return MlflowTracker(absolute_tracking_uri(settings.mlflow_tracking_uri), lock_dir=settings.data_dir / "locks")


def build_runners(settings: Settings, forge: Forge) -> dict[str, Runner]:
    """The training runners by `ci.runner`: GitHub Actions dispatch and the local runner."""
    from bot.adapters.runners import ActionsRunner, LocalRunner

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    local = LocalRunner.from_settings(settings, absolute_tracking_uri(settings.mlflow_tracking_uri),
                                      credential=forge.clone_credential)
    return {"actions": ActionsRunner(forge), "local": local}


def build_locks(settings: Settings) -> Locks:
    """Locks shared by every worker: in the queue's SQLite file, or on its Redis server."""
    from bot.adapters.queue.locks import open_locks

    return open_locks(settings.queue_url)


def build_repositories(settings: Settings) -> Repositories:
    """The book of repositories the reconciler looks after, beside the queue."""
    from bot.adapters.queue.repos import open_repositories

    return open_repositories(settings.queue_url)


def build_context(settings: Settings, queue: JobQueue, *, forge: Forge | None = None,
                  tracker: Tracker | None = None, runners: dict[str, Runner] | None = None,
                  locks: Locks | None = None, repositories: Repositories | None = None) -> Context:
    """Every port the handlers need, and the bot's login, resolved once."""
    github = forge if forge is not None else build_forge(settings)
    login = explicit_login(settings) or str(getattr(github, "bot_login", settings.bot_login))
    return Context(forge=github, queue=queue, tracker=tracker if tracker is not None else build_tracker(settings),
                   bot_login=login, runners=runners if runners is not None else build_runners(settings, github),
                   mlflow_url=settings.mlflow_ui_url, signing_keys=tuple(settings.webhook_secrets),
                   locks=locks, repositories=repositories, secrets=tuple(settings.secret_values()))


def context_factory(settings: Settings) -> ContextFactory:
    """Build the context when the worker first needs it (a process that only serves never does)."""
    return lambda queue: build_context(settings, queue, locks=build_locks(settings),
                                       repositories=build_repositories(settings))
