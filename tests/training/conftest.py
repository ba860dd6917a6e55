"""Fixtures for the training tests: example projects copied to tmp, and the CLI run in-process."""

from __future__ import annotations

import functools
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli import CliResult, run_mlbot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


Outcome = CliResult
Cli = Callable[..., Outcome]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `mlbot ARGS...` in this process, as a user would see it: exit code, stdout, stderr."""
    return functools.partial(run_mlbot, capsys)


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
