"""Fixtures for the first-try tests: the CLI in-process, as a user would see it."""

from __future__ import annotations

import functools

import pytest

from tests.cli import run_mlbot
from tests.training.conftest import Cli


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `mlbot ARGS...` in this process: exit code, stdout, stderr."""
    return functools.partial(run_mlbot, capsys)
