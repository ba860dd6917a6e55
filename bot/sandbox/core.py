"""The sandbox's shared core: the store, identities and tokens, and webhook emission."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.sandbox import gitops, payloads
from bot.sandbox.faults import Faults
from bot.sandbox.state import ApiError, Repo, Store, now
from bot.sandbox.webhooks import WebhookDelivery, WebhookSender

WRITE_ROLES = ("admin", "maintain", "write")


@dataclass(frozen=True)
class Exchange:
    """One API request and the answer the sandbox gave."""

    method: str
    path: str
    query: str
    status: int
    body: bytes


class SandboxCore:
    """State plus the identity and webhook plumbing every operation needs."""

    def __init__(self, state_dir: Path, webhook_url: str | None = None, webhook_secret: str | None = None,
                 bot_login: str = "mlbot[bot]", bot_token: str = "sandbox-bot-token") -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = state_dir
        self.store = Store(root=state_dir)
        self.sender = WebhookSender(webhook_url, webhook_secret)
        self.faults = Faults()
        self.base_url = "http://127.0.0.1"
        self.bot_login = bot_login
        self.bot_token = bot_token
        self.store.user(bot_login, "Bot")
        self.store.tokens[bot_token] = bot_login
        self._installations: dict[str, int] = {}
        self.exchanges: list[Exchange] | None = None  # a log of API answers, when recording

    def record_exchanges(self) -> list[Exchange]:
        """Start logging every API request and its answer (for fidelity checks and debugging)."""
        self.exchanges = []
        return self.exchanges

    # --- identities -------------------------------------------------------------------------

    def token_for(self, login: str) -> str:
        """A personal access token that acts as `login` (the same one on every call)."""
        with self.store.lock:
            for token, owner in self.store.tokens.items():
                if owner.lower() == login.lower() and token not in self.store.token_expiry:
                    return token
            self.store.user(login)
            token = f"sbx_{login.replace('[bot]', '-bot')}_{secrets.token_hex(8)}"
            self.store.tokens[token] = login
            return token

    def installation_token(self) -> tuple[str, str]:
        """A fresh installation token for the bot, and when it expires."""
        token = f"ghs_{secrets.token_hex(18)}"
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.store.lock:
            self.store.tokens[token] = self.bot_login
            self.store.token_expiry[token] = expires
        return token, expires

    def login_for(self, token: str) -> str | None:
        """Whose token this is, or None when unknown or expired."""
        with self.store.lock:
            login = self.store.tokens.get(token)
            expires = self.store.token_expiry.get(token)
        if login and expires and expires < now():
            return None
        return login

    def installation_id(self, owner: str) -> int:
        """The id of the bot's installation on `owner` (one per account)."""
        with self.store.lock:
            if owner.lower() not in self._installations:
                self._installations[owner.lower()] = 50_000 + self.store.user(owner).id
            return self._installations[owner.lower()]

    def installation_owner(self, installation_id: int) -> str | None:
        """The account an installation id belongs to."""
        with self.store.lock:
            for owner, known in self._installations.items():
                if known == installation_id:
                    return self.store.user(owner).login
        return None

    # --- authorization ----------------------------------------------------------------------

    def can_see(self, repo: Repo, login: str | None) -> bool:
        """Public repos are visible to all; private ones to collaborators and the bot."""
        if not repo.private or login == self.bot_login:
            return True
        return login is not None and self.store.role(repo.full_name, login) is not None

    def visible_repo(self, full_name: str, login: str | None) -> Repo:
        """The repository, or the 404 GitHub gives when you may not see it."""
        repo = self.store.repo(full_name)
        if not self.can_see(repo, login):
            raise ApiError(404, "Not Found")
        return repo

    def require_write(self, full_name: str, login: str | None) -> Repo:
        """The repository, or 403/404 when `login` may not write to it (the bot always may)."""
        repo = self.visible_repo(full_name, login)
        if login is None:
            raise ApiError(401, "Requires authentication")
        if login != self.bot_login and self.store.role(full_name, login) not in WRITE_ROLES:
            raise ApiError(403, "Resource not accessible by personal access token")
        return repo

    # --- webhooks ---------------------------------------------------------------------------

    def configure_webhook(self, url: str | None, secret: str | None, *, form: bool = False) -> None:
        """Point deliveries at `url`, signed with `secret`; `form` sends `payload=` form bodies."""
        self.sender.url = url
        self.sender.secret = secret
        self.sender.form = form

    def emit(self, event: str, repo: Repo, sender: str, body: dict[str, Any]) -> WebhookDelivery:
        """Queue `event` with the repository, sender and installation GitHub adds to every payload."""
        payload = {**body, "repository": payloads.repository(self.base_url, self.store, repo),
                   "sender": payloads.login_user(self.base_url, self.store, sender),
                   "installation": {"id": self.installation_id(repo.owner),
                                    "node_id": payloads.node_id("MDIz", self.installation_id(repo.owner))}}
        return self.sender.send(event, payload)

    def ping(self, repo: str) -> WebhookDelivery:
        """Send the `ping` GitHub sends when a hook is created."""
        target = self.store.repo(repo)
        hook_url = f"{self.base_url}/repos/{target.full_name}/hooks/1"
        hook = {"type": "Repository", "id": 1, "name": "web", "active": True,
                "events": ["pull_request", "issue_comment", "workflow_run", "pull_request_review"],
                "config": {"content_type": "form" if self.sender.form else "json", "url": self.sender.url or "http://127.0.0.1/webhook",
                           "insecure_ssl": "0"},
                "updated_at": now(), "created_at": now(), "url": hook_url,
                "test_url": f"{hook_url}/test", "ping_url": f"{hook_url}/pings",
                "deliveries_url": f"{hook_url}/deliveries", "last_response": {
                    "code": None, "status": "unused", "message": None}}
        payload = {"zen": "Keep it logically awesome.", "hook_id": 1, "hook": hook,
                   "repository": payloads.repository(self.base_url, self.store, target),
                   "sender": payloads.login_user(self.base_url, self.store, target.owner)}
        return self.sender.send("ping", payload)

    def deliveries(self, event: str | None = None) -> list[WebhookDelivery]:
        """Every webhook emitted so far (with the receiver's status codes), oldest first."""
        return self.sender.deliveries(event)

    def redeliver(self, delivery_id: str) -> WebhookDelivery:
        """Send a logged delivery again under the same id, as GitHub's "Redeliver" button does."""
        return self.sender.redeliver(delivery_id)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait until every queued webhook was delivered (or failed)."""
        self.sender.wait_idle(timeout)

    # --- git --------------------------------------------------------------------------------

    def signature(self, login: str) -> gitops.Signature:
        """The git identity of a user."""
        return gitops.Signature(login, f"{self.store.user(login).id}+{login}@users.noreply.sandbox")
