"""The whole product on one machine: sandbox GitHub + `mlbot serve` (local runner) + MLflow on SQLite.

Everything listens on 127.0.0.1 with free ports and lives under one working directory; `mlbot demo`
and the end-to-end tests use it, so both exercise the production code path over real HTTP.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from bot.adapters.queue import DurableQueue
from bot.sandbox.server import SandboxServer
from bot.service.composition import open_queue
from bot.service.settings import Settings

BOT_LOGIN = "mlbot[bot]"


class LocalStack:
    """Start with `with LocalStack(tmp) as stack:`; `stack.github` is the sandbox's Python API."""

    def __init__(self, workdir: Path, *, bot_login: str = BOT_LOGIN, workers: int = 2,
                 settings_overrides: dict[str, Any] | None = None) -> None:
        self.workdir = workdir.resolve()
        self.bot_login = bot_login
        self.workers = workers
        self.tracking_uri = f"sqlite:///{self.workdir / 'mlflow.db'}"
        self.secret = secrets.token_hex(16)
        self.overrides = settings_overrides or {}
        self.sandbox: SandboxServer | None = None
        self.settings: Settings | None = None
        self.queue: DurableQueue | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.bot_url = ""

    @property
    def github(self) -> Any:
        assert self.sandbox is not None, "start the stack first"
        return self.sandbox.github

    def start(self, timeout: float = 60.0) -> LocalStack:
        """Start the sandbox, then the bot (edge + in-process workers), and wait until both answer."""
        from bot.service.app import create_app  # FastAPI and the queue load only when the stack starts

        self.workdir.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.bot_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.sandbox = SandboxServer(self.workdir / "sandbox", webhook_url=f"{self.bot_url}/webhook",
                                     webhook_secret=self.secret, bot_login=self.bot_login).start()
        self.settings = Settings(
            webhook_secret=self.secret, github_token=self.sandbox.bot_token,
            github_api_url=self.sandbox.api_url, bot_login=self.bot_login,
            queue_url=f"sqlite:///{self.workdir / 'queue.db'}", data_dir=self.workdir / "bot",
            mlflow_tracking_uri=self.tracking_uri, queue_retry_delay=0.2, github_retry_max_wait=5.0,
            queue_workers=self.workers,  # no clone_url: the runner clones what the payload names
            **self.overrides,
        )
        self.queue = open_queue(self.settings)  # ours: `settle` reads its counts, `stop` closes it
        app = create_app(self.settings, queue=self.queue)  # every port from settings, as `mlbot serve` does
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="mlbot-serve", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"mlbot serve did not start on {self.bot_url}")
            time.sleep(0.02)
        return self

    def queue_busy(self) -> int:
        """How many accepted deliveries and jobs are not finished yet (queued, running, retrying)."""
        assert self.queue is not None, "start the stack first"
        counts = self.queue.counts()
        return counts.get("queued", 0) + counts.get("running", 0)

    def settle(self, timeout: float = 180.0) -> None:
        """Wait until every webhook is delivered and every job the bot queued has finished."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            self.github.wait_idle(timeout=max(1.0, deadline - time.monotonic()))
            if self.queue_busy() == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.3:  # a job may enqueue a follow-up job
                    return
            else:
                quiet_since = None
            time.sleep(0.1)
        raise TimeoutError(f"the bot did not settle within {timeout:g} s")

    def stop(self) -> None:
        """Stop the bot (workers finish their job), then the sandbox."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=60)
        if self.queue is not None:
            self.queue.close()
            self.queue = None
        if self.sandbox is not None:
            with contextlib.suppress(Exception):
                self.sandbox.stop()
        self._server = self._thread = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
