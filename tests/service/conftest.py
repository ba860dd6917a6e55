"""Fixtures: the webhook service on a real port, its durable queue, signed deliveries, a recording forge."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from bot.adapters.queue import DurableQueue, open_queue
from bot.core.events import Event, PullRequestEvent, sign
from bot.handlers import Router
from bot.ports import CheckOutput, CheckRun, Context
from bot.service.app import create_app
from bot.service.settings import Settings
from bot.service.telemetry import Telemetry

SECRET = "s3cret"
MLBOT = str(Path(sys.executable).with_name("mlbot"))  # the installed console script


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class RunningServer:
    """A uvicorn server in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                loop="uvloop", http="httptools")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> RunningServer:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), what="server start")
        assert self.server.started, "the server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@dataclass
class RecordingForge:
    """Records create_check_run calls; every other Forge method is unexpected here."""

    checks: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_check_run(self, repo: str, head_sha: str, name: str, **kwargs: Any) -> CheckRun:
        with self.lock:
            self.checks.append({"repo": repo, "head_sha": head_sha, "name": name, **kwargs})
            return CheckRun(len(self.checks), name, head_sha, kwargs.get("status", "queued"),
                            kwargs.get("conclusion"))


def marking_router() -> Router:
    """The service's ping handler, plus a test handler marking each opened pull request with a neutral check."""
    from bot.handlers import basic

    router = Router.composed(basic.router)

    @router.register("pull_request", "opened")
    def mark(event: Event, ctx: Context) -> None:
        if isinstance(event, PullRequestEvent) and event.pull is not None:
            ctx.forge.create_check_run(event.pull.repo, event.pull.head_sha, "mlbot/train", status="completed",
                                       conclusion="neutral", output=CheckOutput("seen", "seen"),
                                       external_id=event.delivery_id or None)

    return router


def service_context(forge: Any, queue: Any) -> Context:
    """The ports for service tests: a forge of the test's choosing, nothing else used."""
    return Context(forge=forge, queue=queue, tracker=None, bot_login="mlbot[bot]")  # type: ignore[arg-type]


def headers(event: str, delivery: str, body: bytes, *, form: bool = False,
            signature: str | None = "sign") -> dict[str, str]:
    """GitHub's delivery headers; `signature="sign"` signs `body` with SECRET."""
    found = {
        "content-type": "application/x-www-form-urlencoded" if form else "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery,
        "user-agent": "GitHub-Hookshot/test",
    }
    if signature == "sign":
        found["x-hub-signature-256"] = sign(body, SECRET)
    elif signature is not None:
        found["x-hub-signature-256"] = signature
    return found


def encode(payload: dict[str, Any], *, form: bool = False) -> bytes:
    """The body GitHub sends for `payload`, as JSON or as `payload=` form data."""
    text = json.dumps(payload)
    return urllib.parse.urlencode({"payload": text}).encode() if form else text.encode()


@dataclass
class Service:
    url: str
    queue: DurableQueue
    forge: RecordingForge
    telemetry: Telemetry
    client: httpx.Client

    def post(self, event: str, delivery: str, payload: dict[str, Any], *, form: bool = False,
             signature: str | None = "sign") -> httpx.Response:
        body = encode(payload, form=form)
        return self.client.post("/webhook", content=body,
                                headers=headers(event, delivery, body, form=form, signature=signature))

    def total(self) -> int:
        return sum(self.queue.counts().values())


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"webhook_secret": f"old-secret,{SECRET}",
                              "queue_url": f"sqlite:///{tmp_path / 'queue.db'}",
                              "mlflow_tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                              "queue_retry_delay": 0.05, **overrides}
    return Settings(**values)


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start the service (edge, plus `workers` in-process worker threads) against a recording forge."""
    stack: list[tuple[RunningServer, httpx.Client, DurableQueue]] = []

    def start(workers: int = 0, tracker_check: Callable[[], None] | None = None,
              forge_factory: Callable[[], Any] | None = None, router: Router | None = None,
              **overrides: Any) -> Service:
        settings = settings_for(tmp_path, **overrides)
        forge, telemetry = RecordingForge(), Telemetry()
        queue = open_queue(settings.queue_url, lease_seconds=settings.queue_lease_seconds,
                           max_attempts=settings.queue_max_attempts, retry_delay=settings.queue_retry_delay)
        chosen = forge_factory or (lambda: forge)
        app = create_app(settings, queue=queue, router=router or marking_router(),
                         context_factory=lambda q: service_context(chosen(), q),
                         workers=workers, telemetry=telemetry, tracker_check=tracker_check)
        server = RunningServer(app).__enter__()
        client = httpx.Client(base_url=server.url, timeout=30)
        stack.append((server, client, queue))
        return Service(server.url, queue, forge, telemetry, client)

    yield start
    for server, client, queue in reversed(stack):
        client.close()
        server.__exit__()
        queue.close()


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The queue address for each backend (Redis only when MLBOT_TEST_REDIS_URL is set)."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_url"))
    return f"sqlite:///{tmp_path / 'queue.db'}"
