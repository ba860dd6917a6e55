"""The local runner clones a private repository through its own clone_url with the bot's token.

A real git server over HTTP (git's "dumb" protocol, served from a bare repository) refuses anyone
without the token, like a private GitHub or GitHub Enterprise repository; `mlbot fit` and `mlbot
evaluate` are the recording stand-ins of tests/lifecycle/test_runners.py.
"""

from __future__ import annotations

import base64
import functools
import json
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.runners import LocalRunner
from bot.core.errors import ForgeError
from bot.ports import TrainingJob
from bot.service.settings import Settings
from tests.lifecycle.helpers import git
from tests.lifecycle.test_runners import EVALUATE, FIT, Origin, origin, runner
from tests.sandboxing import bwrap

__all__ = ["bwrap", "origin"]
TOKEN = "ghs_installationTOKEN1234567890abcdef"
BASIC = "Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


class PrivateRepos(SimpleHTTPRequestHandler):
    """Serve the bare repositories to whoever sends the token, as GitHub serves a private repository."""

    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != BASIC:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@pytest.fixture
def server(origin: Origin, tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An http:// git server of tmp_path's bare repositories; yields its URL and the Authorization headers seen."""
    git(tmp_path / "acme" / "models.git", "update-server-info")
    seen: list[str] = []
    handler = type("Handler", (PrivateRepos,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def private_job(url: str, sha: str) -> TrainingJob:
    return TrainingJob(repo="acme/models", sha=sha, pr=7, branch="feature/x", trigger="pull_request",
                       clone_url=f"{url}/acme/models.git")


def local(tmp_path: Path, credential: Any) -> LocalRunner:
    return LocalRunner(tracking_uri="sqlite:////tmp/x.db", cwd=tmp_path, credential=credential,
                       fit_command=[sys.executable, "-c", FIT],
                       evaluate_command=[sys.executable, "-c", EVALUATE, str(tmp_path / "record.json")])


@pytest.mark.usefixtures("bwrap")
def test_a_private_repository_is_cloned_from_its_clone_url_with_the_token(
    server: tuple[str, list[str]], origin: Origin, tmp_path: Path
) -> None:
    url, seen = server
    asked: list[str] = []
    outcome = local(tmp_path, lambda repo: asked.append(repo) or TOKEN).dispatch(private_job(url, origin.pr_sha))

    assert (outcome.ok, outcome.run_id) == (True, "0123abcd"), outcome
    assert asked == ["acme/models"] and BASIC in seen
    record = (tmp_path / "record.json").read_text()
    assert json.loads(record)["fit"]["model"] == "v2 from a fork\n"  # the fork's head, fetched with the token
    encoded = BASIC.removeprefix("Basic ")
    for secret in (TOKEN, encoded):  # in no child's argv or environment, in no log
        assert secret not in record
        assert secret not in outcome.log_tail and secret not in outcome.message


@pytest.mark.usefixtures("bwrap")
def test_without_the_token_the_clone_fails_in_one_sentence(server: tuple[str, list[str]], origin: Origin,
                                                           tmp_path: Path) -> None:
    url, _ = server
    outcome = local(tmp_path, lambda repo: None).dispatch(private_job(url, origin.main_sha))
    assert not outcome.ok
    assert outcome.message == f"I could not check out {origin.main_sha[:7]} of acme/models."
    assert outcome.log_tail.startswith("git clone: ")


def test_an_app_that_is_not_installed_says_so_and_leaks_nothing(server: tuple[str, list[str]], origin: Origin,
                                                                tmp_path: Path) -> None:
    def not_installed(repo: str) -> str:
        raise ForgeError(f"The GitHub App 1 is not installed on {repo}", status=404)

    outcome = local(tmp_path, not_installed).dispatch(private_job(server[0], origin.main_sha))
    assert not outcome.ok and outcome.log_tail == "The GitHub App 1 is not installed on acme/models"


def test_file_urls_and_urls_with_their_own_credentials_get_no_token(tmp_path: Path) -> None:
    runner_ = local(tmp_path, lambda repo: TOKEN)
    assert runner_.clone_auth("/srv/git/acme/models.git", "acme/models") == ({}, "")
    assert runner_.clone_auth("file:///srv/acme/models.git", "acme/models") == ({}, "")
    assert runner_.clone_auth("https://me:pat@ghe.example.com/acme/models.git", "acme/models") == ({}, "")
    env, token = runner_.clone_auth("https://ghe.example.com/acme/models.git", "acme/models")
    assert token == TOKEN and env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == f"Authorization: {BASIC}"


def test_the_clone_url_is_the_override_then_the_repositorys_own_then_github(tmp_path: Path,
                                                                            origin: Origin) -> None:
    job = private_job("https://ghe.example.com", "a" * 40)
    assert local(tmp_path, None).source(job) == "https://ghe.example.com/acme/models.git"
    bare = TrainingJob(repo="acme/models", sha="a" * 40, pr=None, branch="main")
    assert local(tmp_path, None).source(bare) == "https://github.com/acme/models.git"
    assert runner(origin, tmp_path).source(job) == origin.url.format(repo="acme/models")
    unset = LocalRunner.from_settings(Settings(_env_file=None), "sqlite:////tmp/x.db")  # type: ignore[call-arg]
    assert unset.clone_url is None
    explicit = LocalRunner.from_settings(Settings(clone_url="/srv/{repo}.git"), "sqlite:////tmp/x.db")
    assert explicit.source(job) == "/srv/acme/models.git"
