"""Fixtures for the training tests: example projects copied to tmp, and the CLI run in-process."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def run_id(self) -> str:
        lines = [line for line in self.out.splitlines() if line.startswith("run_id=")]
        assert lines, f"no run_id line in:\n{self.out}\n{self.err}"
        return lines[-1].removeprefix("run_id=")


Cli = Callable[..., Outcome]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `mlbot ARGS...` in this process, as a user would see it: exit code, stdout, stderr."""

    def run(*argv: str) -> Outcome:
        capsys.readouterr()
        try:
            main(list(argv))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def copy_example(name: str, destination: Path) -> Path:
    """A private copy of examples/<name> (tests may edit it)."""
    target = destination / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__", "mlruns", "*.db"))
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
