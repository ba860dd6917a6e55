"""Settings: the only module that reads the environment. Built once, passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Variables that must never reach untrusted training code (the local runner scrubs them).
SECRET_ENV_PREFIXES = ("MLBOT_GITHUB", "MLBOT_WEBHOOK", "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_")


class Settings(BaseSettings):
    """Everything configurable about mlbot; `MLBOT_` prefix, plus `MLFLOW_TRACKING_URI`."""

    model_config = SettingsConfigDict(env_prefix="MLBOT_", extra="ignore")

    webhook_secret: str | None = None
    github_token: str | None = None
    github_app_id: str | None = None
    github_private_key: str | None = None
    github_private_key_file: Path | None = None
    github_api_url: str = "https://api.github.com"
    github_retry_attempts: int = 5  # tries per GitHub call on 5xx / rate limits
    github_retry_max_wait: float = 120.0  # seconds of backoff allowed per call before giving up
    queue_url: str = "sqlite:///.mlbot/queue.db"
    queue_workers: int = 2  # worker threads inside `mlbot serve` (0: none) and `mlbot worker`
    queue_lease_seconds: float = 300.0  # a running job not finished by then is run again
    queue_max_attempts: int = 5  # then the delivery is dead-lettered
    queue_retry_delay: float = 2.0  # first retry after this, doubling each time
    bot_login: str = "mlbot[bot]"
    data_dir: Path = Path(".mlbot")
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "MLBOT_MLFLOW_TRACKING_URI"),
    )
    mlflow_ui_url: str | None = None  # public MLflow UI base for links in reports
    # What the local runner clones; `{repo}` is "owner/name". A token in it never reaches training.
    clone_url: str = "https://github.com/{repo}.git"
    train_timeout: float = 3600.0  # seconds a local training may take before it is stopped
    reconcile_interval: float = 600.0  # seconds between reconciler rounds in workers (0: off)

    @property
    def webhook_secrets(self) -> list[str]:
        """The accepted secrets, newest first; several allow rotation."""
        if not self.webhook_secret:
            return []
        return [s.strip() for s in self.webhook_secret.split(",") if s.strip()]

    def private_key(self) -> str | None:
        """The GitHub App key, inline or from its file."""
        if self.github_private_key:
            return self.github_private_key
        if self.github_private_key_file:
            return self.github_private_key_file.read_text()
        return None


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]


def scrubbed_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for untrusted code: no GitHub token, App key or webhook secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIXES)}
    env.update(extra or {})
    return env



@dataclass(frozen=True)
class ActionsEnvironment:
    """What a GitHub Actions job knows about itself: the inputs of Actions-only mode."""

    event_name: str
    event_path: Path
    repository: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    token: str | None = None
    sha: str = ""
    ref: str = ""
    run_id: str = ""

    @property
    def run_url(self) -> str | None:
        """The link to this workflow run, for reports and comments."""
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


def actions_environment(env: Mapping[str, str] | None = None) -> ActionsEnvironment | None:
    """Read the GitHub Actions variables; None outside Actions (no event file or repository)."""
    env = os.environ if env is None else env
    event_path, repository = env.get("GITHUB_EVENT_PATH"), env.get("GITHUB_REPOSITORY")
    if not event_path or not repository:
        return None
    return ActionsEnvironment(
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        event_path=Path(event_path),
        repository=repository,
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        token=env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or None,
        sha=env.get("GITHUB_SHA", ""),
        ref=env.get("GITHUB_REF", ""),
        run_id=env.get("GITHUB_RUN_ID", ""),
    )
