"""Credentials for the GitHub adapter: a plain token, or a GitHub App's installation tokens.

An App signs a short JWT with its private key, finds the installation of each repository
(`GET /repos/{owner}/{repo}/installation`) and trades the JWT for an installation token that
lives one hour. Tokens are cached per installation and minted again `refresh_margin` seconds
before they expire, under a lock, so many worker threads share one token per installation.
https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from github import Auth, GithubIntegration
from github.GithubException import GithubException, UnknownObjectException

from bot.adapters.github.retry import RetryPolicy, call_with_retries
from bot.core.errors import ConfigError, ForgeError, Problem, Transient


class Credentials(Protocol):
    """Who the forge speaks as, per repository."""

    def key_for(self, repo: str) -> Hashable:
        """Return the identity used for `repo` (one HTTP client is kept per identity)."""
        ...

    def auth_for(self, key: Hashable) -> Auth.Auth:
        """Return a PyGithub auth object for that identity."""
        ...

    def invalidate(self, key: Hashable) -> None:
        """Forget a cached token that GitHub rejected."""
        ...


class TokenCredentials:
    """A personal access token, an Actions token or a sandbox token: one identity for all repos."""

    def __init__(self, token: str) -> None:
        self._token = token

    def key_for(self, repo: str) -> Hashable:
        """Return the single identity."""
        return "token"

    def auth_for(self, key: Hashable) -> Auth.Auth:
        """Return the token auth."""
        return Auth.Token(self._token)

    def invalidate(self, key: Hashable) -> None:
        """Do nothing: a plain token cannot be refreshed."""


@dataclass
class _Minted:
    token: str
    expires_at: float


class _InstallationAuth(Auth.Auth):
    """PyGithub auth that asks the shared cache for a live token on every request."""

    def __init__(self, source: AppCredentials, installation_id: int) -> None:
        self._source = source
        self._installation_id = installation_id

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._source.token(self._installation_id)


def check_private_key(app_id: str, private_key: str) -> None:
    """Fail early, with a sentence, when the App's private key cannot sign a JWT."""
    try:
        jwt.encode({"iss": app_id}, private_key, algorithm="RS256")
    except Exception as error:  # PyJWT/cryptography raise several types for a bad PEM
        raise ConfigError(
            [Problem("environment", "MLBOT_GITHUB_PRIVATE_KEY",
                     f"is not a usable RSA private key ({error})")],
            hint="paste the .pem from the GitHub App's settings page, "
                 "or point MLBOT_GITHUB_PRIVATE_KEY_FILE at it",
        ) from None


class AppCredentials:
    """A GitHub App: JWT -> installation per repository -> cached, refreshed installation tokens."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        api_url: str,
        policy: RetryPolicy,
        *,
        refresh_margin: float = 300.0,
        timeout: int = 15,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_private_key(app_id, private_key)
        self.app_id = app_id
        self._policy = policy
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._installations: dict[str, int] = {}
        self._tokens: dict[int, _Minted] = {}
        self._integration = GithubIntegration(
            auth=Auth.AppAuth(app_id, private_key), base_url=api_url.rstrip("/"), timeout=timeout,
            retry=None, seconds_between_requests=None, seconds_between_writes=None,
        )

    def _app_call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return call_with_retries(what, fn, self._policy)
        except UnknownObjectException:
            raise
        except GithubException as error:
            raise ForgeError(
                f"GitHub refused {what} for App {self.app_id} ({error.status})", status=error.status,
                hint="check MLBOT_GITHUB_APP_ID, the private key and the App's installation",
            ) from None

    def key_for(self, repo: str) -> Hashable:
        """Return the installation id of the App on `repo`, looked up once."""
        with self._lock:
            if repo in self._installations:
                return self._installations[repo]
            owner, _, name = repo.partition("/")
            try:
                found = self._app_call(f"GET /repos/{repo}/installation",
                                       lambda: self._integration.get_repo_installation(owner, name))
            except UnknownObjectException:
                raise ForgeError(
                    f"The GitHub App {self.app_id} is not installed on {repo}", status=404,
                    hint=f"install the App on {repo} (Settings → GitHub Apps) and try again",
                ) from None
            self._installations[repo] = int(found.id)
            return self._installations[repo]

    def auth_for(self, key: Hashable) -> Auth.Auth:
        """Return an auth that always carries a live installation token."""
        assert isinstance(key, int)
        return _InstallationAuth(self, key)

    def token(self, installation_id: int) -> str:
        """Return a token for the installation, minting a new one close to expiry."""
        with self._lock:
            minted = self._tokens.get(installation_id)
            if minted is None or minted.expires_at - self._refresh_margin <= self._clock():
                minted = self._mint(installation_id)
                self._tokens[installation_id] = minted
            return minted.token

    def _mint(self, installation_id: int) -> _Minted:
        try:
            access = self._app_call(f"POST /app/installations/{installation_id}/access_tokens",
                                    lambda: self._integration.get_access_token(installation_id))
        except UnknownObjectException:
            raise ForgeError(
                f"GitHub App installation {installation_id} no longer exists", status=404,
                hint="reinstall the App on the repository",
            ) from None
        return _Minted(token=access.token, expires_at=access.expires_at.timestamp())

    def invalidate(self, key: Hashable) -> None:
        """Drop the cached token so the next request mints a fresh one."""
        with self._lock:
            self._tokens.pop(key, None)  # type: ignore[call-overload]

    def bot_login(self) -> str | None:
        """Return `<app-slug>[bot]`, the login the App's comments carry, or None if unknown."""
        try:
            app = self._app_call("GET /app", self._integration.get_app)
        except (ForgeError, Transient, UnknownObjectException):
            return None
        slug = getattr(app, "slug", None)
        return f"{slug}[bot]" if slug else None
