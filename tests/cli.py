"""Run the `mlbot` CLI in-process through its error boundary, as a user would see it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.cli import main


@dataclass(frozen=True)
class CliResult:
    """Exit code, stdout and stderr of one `mlbot` invocation (unpacks as a 3-tuple)."""

    code: int
    out: str
    err: str

    @property
    def run_id(self) -> str:
        """The run id of the last `run_id=` line `mlbot train` printed."""
        lines = [line for line in self.out.splitlines() if line.startswith("run_id=")]
        assert lines, f"no run_id line in:\n{self.out}\n{self.err}"
        return lines[-1].removeprefix("run_id=")

    def __iter__(self) -> Iterator[object]:
        return iter((self.code, self.out, self.err))


def run_mlbot(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    """Run `mlbot ARGV`; output printed before the call is not counted."""
    capsys.readouterr()
    try:
        main(list(argv))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
