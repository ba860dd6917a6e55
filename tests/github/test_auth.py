"""Token and GitHub App authentication against the sandbox: JWT -> installation token, refreshed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.adapters.github.auth import AppCredentials
from bot.adapters.github.client import GitHubForge
from bot.core.errors import ConfigError, ForgeError
from bot.sandbox import SandboxServer
from bot.service.composition import build_forge
from bot.service.settings import load_settings
from tests.github.conftest import BOT, FAST, REPO


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


class Clock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


AppForge = tuple[GitHubForge, AppCredentials, Clock]


@pytest.fixture
def app_forge(sandbox: SandboxServer, private_key: str) -> Iterator[AppForge]:
    clock = Clock()
    app = AppCredentials("4242", private_key, sandbox.api_url, FAST, clock=clock)
    forge = GitHubForge(sandbox.api_url, app, policy=FAST)
    yield forge, app, clock
    forge.close()


def installation_tokens(sandbox: SandboxServer) -> list[str]:
    return list(sandbox.github.store.token_expiry)


def test_token_auth_learns_the_login_from_get_user(sandbox: SandboxServer) -> None:
    settings = load_settings(github_token=sandbox.github.token_for("alice"), github_api_url=sandbox.api_url)
    forge = build_forge(settings)
    assert forge.bot_login == "alice"
    assert forge.create_comment(REPO, 1, "hi").author == "alice"
    configured = build_forge(load_settings(github_token=sandbox.bot_token, bot_login="robot",
                                                         github_api_url=sandbox.api_url))
    assert configured.bot_login == "robot"  # configured: no GET /user


def test_app_auth_from_settings_with_the_key_in_a_file(
    sandbox: SandboxServer, private_key: str, tmp_path: Path
) -> None:
    (tmp_path / "app.pem").write_text(private_key)
    settings = load_settings(github_app_id="4242", github_private_key_file=tmp_path / "app.pem",
                             github_api_url=sandbox.api_url, github_retry_attempts=4, github_retry_max_wait=5.0)
    forge = build_forge(settings)
    assert forge.bot_login == BOT  # from GET /app: an installation token cannot call GET /user
    posted = forge.create_comment(REPO, 1, "posted as the App")
    assert posted.author == BOT
    assert forge.permission(REPO, "mona") == "maintain"
    assert len(installation_tokens(sandbox)) == 1


def test_an_installation_token_about_to_expire_is_refreshed(
    sandbox: SandboxServer, app_forge: AppForge
) -> None:
    forge, _, clock = app_forge
    forge.create_comment(REPO, 1, "one")
    [first] = installation_tokens(sandbox)
    forge.create_comment(REPO, 1, "two")
    assert installation_tokens(sandbox) == [first]  # cached while fresh

    clock.now += 3600 - 120  # two minutes before the hour is up: inside the refresh margin
    forge.create_comment(REPO, 1, "three")
    tokens = installation_tokens(sandbox)
    assert len(tokens) == 2 and tokens[0] == first
    clock.now = time.time()  # back to the present: the new token is fresh and reused
    forge.create_comment(REPO, 1, "four")
    assert installation_tokens(sandbox) == tokens
    assert [c.author for c in sandbox.github.comments(REPO, 1)] == [BOT] * 4


def test_a_token_github_rejects_is_replaced_once(
    sandbox: SandboxServer, app_forge: AppForge
) -> None:
    forge, _, _ = app_forge
    assert forge.default_branch(REPO) == "main"
    [first] = installation_tokens(sandbox)
    sandbox.github.store.token_expiry[first] = "2000-01-01T00:00:00Z"  # revoked early, on GitHub's side
    assert forge.default_branch(REPO) == "main"
    assert len(installation_tokens(sandbox)) == 2


def test_worker_threads_share_one_installation_token(
    sandbox: SandboxServer, app_forge: AppForge
) -> None:
    forge, _, _ = app_forge
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            assert forge.get_file(REPO, "mlbot.yaml", "main") == b"model: churn\n"
            forge.create_comment(REPO, 1, f"thread {i}")
        except BaseException as error:  # collected: an assertion in a thread would vanish
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(installation_tokens(sandbox)) == 1
    assert sorted(c.body for c in sandbox.github.comments(REPO, 1)) == [f"thread {i}" for i in range(6)]


def test_an_app_not_installed_on_the_repository(
    app_forge: AppForge
) -> None:
    forge, _, _ = app_forge
    with pytest.raises(ForgeError, match="The GitHub App 4242 is not installed on acme/elsewhere") as raised:
        forge.default_branch("acme/elsewhere")
    assert raised.value.status == 404 and raised.value.hint


def test_missing_or_broken_credentials_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MLBOT_GITHUB_TOKEN: is not set"):
        build_forge(load_settings())
    with pytest.raises(ConfigError, match="MLBOT_GITHUB_PRIVATE_KEY: is not set"):
        build_forge(load_settings(github_app_id="1"))
    with pytest.raises(ConfigError, match="MLBOT_GITHUB_PRIVATE_KEY: is not a usable RSA private key"):
        build_forge(load_settings(github_app_id="1", github_private_key="not a key"))
