"""Run the `mlbot` CLI in-process through its error boundary (the shared helper, as a 3-tuple)."""

from __future__ import annotations

import pytest

from tests.cli import run_mlbot


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Return the exit code, stdout and stderr of `mlbot ARGV`."""
    result = run_mlbot(capsys, *argv)
    return result.code, result.out, result.err
