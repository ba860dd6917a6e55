"""Run a command as its own process group with a deadline, keep only its output's tail, and kill on demand.

Every stage the local runner starts (the sandboxed fit, the trusted evaluate) goes through one
`ProcessGroups`, so a shutdown can stop them all and a timeout kills the whole tree, not just the
first process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# What a stage may print before its oldest lines are dropped: the bot keeps a tail, never the whole log
TAIL_LINES = 400
LINE_CHARS = 2000
READER_GRACE = 5.0  # seconds to wait for the output pipe to close once the group is dead
NOT_STARTED = 127  # what a shell reports for a command it cannot run


@dataclass(frozen=True)
class Finished:
    """How a process group ended: its exit code (None when killed by us), output tail, and why it stopped."""

    returncode: int | None
    output: str
    timed_out: bool = False
    stopped: bool = False  # killed by `stop_all` (mlbot is shutting down)


class ProcessGroups:
    """The process groups a runner started; `stop_all` kills every one of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[str]] = set()
        self._stopping = False

    def run(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float) -> Finished:
        """Run `argv` in a new session; kill its group at `timeout` seconds or on `stop_all`."""
        with self._lock:
            if self._stopping:
                return Finished(None, "", stopped=True)
            try:
                process = subprocess.Popen(
                    list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
                )
            except OSError as error:  # the command is missing or not executable: a failure, not a crash
                return Finished(NOT_STARTED, f"cannot start {argv[0]}: {error.strerror or error}")
            self._live.add(process)
        lines: deque[str] = deque(maxlen=TAIL_LINES)
        assert process.stdout is not None
        reader = threading.Thread(target=collect, args=(process.stdout, lines), daemon=True)
        reader.start()
        exited = threading.Event()
        threading.Thread(target=wait_unreaped, args=(process.pid, exited), daemon=True).start()
        timed_out = not exited.wait(max(timeout, 0.0))
        with self._lock:
            # the leader is dead but not reaped: its pid (the group id) cannot be reused while we kill the group
            kill_group(process)
            self._live.discard(process)
            stopped = self._stopping
        process.wait()
        reader.join(READER_GRACE)
        code = None if timed_out or (stopped and process.returncode < 0) else process.returncode
        return Finished(code, "\n".join(lines), timed_out=timed_out, stopped=stopped and code is None)

    @property
    def stopping(self) -> bool:
        """Whether `stop_all` was called: what runs now was cut short, nothing new starts."""
        return self._stopping

    def stop_all(self) -> int:
        """Kill every running group and refuse new ones; return how many were running."""
        with self._lock:
            self._stopping = True
            for process in self._live:  # each still holds its pid: `run` drops it before reaping
                kill_group(process)
            return len(self._live)


def collect(stream: IO[str], lines: deque[str]) -> None:
    """Append each line of `stream`, cut to LINE_CHARS, to `lines` until EOF."""
    continued = False  # inside a line longer than LINE_CHARS: drop the rest of it
    with contextlib.suppress(OSError, ValueError):
        # bounded reads: a hostile fit printing gigabytes without a newline must not fill the bot's memory
        for chunk in iter(lambda: stream.readline(LINE_CHARS), ""):
            if not continued:
                lines.append(chunk.rstrip("\n"))
            continued = not chunk.endswith("\n")


def wait_unreaped(pid: int, exited: threading.Event) -> None:
    """Block until `pid` exits, leaving it a zombie so its pid stays taken, then set `exited`."""
    with contextlib.suppress(ChildProcessError):
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    exited.set()


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process's group (its own session): the command and everything it started there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
