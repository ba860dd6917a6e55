"""Run the sandbox on 127.0.0.1 in a background thread: `with SandboxServer(tmp) as sandbox: ...`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from bot.sandbox.app import create_app
from bot.sandbox.github import SandboxGitHub


class SandboxServer:
    """The sandbox's HTTP server plus its Python API (`.github`) for tests and the demo."""

    def __init__(self, state_dir: Path, webhook_url: str | None = None, webhook_secret: str | None = None,
                 bot_login: str = "mlbot[bot]", bot_token: str = "sandbox-bot-token",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.github = SandboxGitHub(state_dir, webhook_url, webhook_secret, bot_login, bot_token)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        """The base URL to give PyGithub (`MLBOT_GITHUB_API_URL`)."""
        return self.github.base_url

    @property
    def bot_token(self) -> str:
        """The token that authenticates as the bot."""
        return self.github.bot_token

    def start(self, timeout: float = 30.0) -> SandboxServer:
        """Bind the port, start serving in a thread, and wait until it accepts requests."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        self.github.base_url = f"http://{shown}:{self.port}"
        (self.github.state_dir / "push-url").write_text(f"{self.github.base_url}/_sandbox/push\n")
        config = uvicorn.Config(create_app(self.github), log_level="warning", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="sandbox-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {self.github.base_url}")
            time.sleep(0.01)
        return self

    def serve_forever(self) -> None:
        """Block until the server stops (Ctrl-C)."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)

    def stop(self) -> None:
        """Drain webhooks, stop serving and join the threads."""
        with contextlib.suppress(TimeoutError):
            self.github.wait_idle(timeout=10)
        self.github.sender.close()
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
