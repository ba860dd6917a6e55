"""Composition: build the ports a worker hands to handlers, from settings. The only wiring place."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.ports import Context, JobQueue, Runner
from bot.service.settings import Settings

if TYPE_CHECKING:
    from bot.adapters.queue import DurableQueue


def absolute_tracking_uri(uri: str) -> str:
    """Anchor a relative `sqlite:///file.db` at the current directory: training runs elsewhere."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        return prefix + str((Path.cwd() / uri[len(prefix):]).resolve())
    return uri


def context_factory(settings: Settings) -> Callable[[JobQueue], Context]:
    """A factory of the handlers' Context: GitHub forge, MLflow tracker, local and Actions runners."""

    def build(queue: JobQueue) -> Context:
        from bot.adapters.github.client import GitHubForge  # PyGithub and mlflow stay out of the edge's imports
        from bot.adapters.mlflow.tracker import MlflowTracker
        from bot.adapters.runners import ActionsRunner, LocalRunner

        forge = GitHubForge.from_settings(settings)
        tracking_uri = absolute_tracking_uri(settings.mlflow_tracking_uri)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        runners: dict[str, Runner] = {
            "actions": ActionsRunner(forge),
            "local": LocalRunner(clone_url=settings.clone_url, tracking_uri=tracking_uri,
                                 timeout=settings.train_timeout, cwd=settings.data_dir.resolve()),
        }
        tracker = MlflowTracker(tracking_uri, lock_dir=settings.data_dir / "locks")
        return Context(forge=forge, queue=queue, bot_login=settings.bot_login, tracker=tracker,
                       runners=runners, mlflow_url=settings.mlflow_ui_url)

    return build


def queue_from_settings(settings: Settings) -> DurableQueue:
    """Open the durable queue at `MLBOT_QUEUE_URL` with the configured lease, attempts and backoff."""
    from bot.adapters.queue import open_queue

    return open_queue(settings.queue_url, lease_seconds=settings.queue_lease_seconds,
                      max_attempts=settings.queue_max_attempts, retry_delay=settings.queue_retry_delay,
                      retry_for=settings.queue_retry_for, retry_max_delay=settings.queue_retry_max_delay)
