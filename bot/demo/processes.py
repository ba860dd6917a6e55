"""Leave nothing behind: find this process's children through /proc and stop their process groups.

The local runner starts `mlbot train` in its own session (so a Ctrl-C in the terminal does not
reach it); when the demo is interrupted, those groups are killed here while the stack shuts down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

PROC = Path("/proc")


def parent_of(pid: int) -> int | None:
    """The parent pid of `pid` from /proc/PID/stat, or None when it is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: parse after the last ")"
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 else None


def children(pid: int | None = None) -> list[int]:
    """The pids whose parent is `pid` (default: this process); [] where /proc is unavailable."""
    me = os.getpid() if pid is None else pid
    try:
        entries = [int(p.name) for p in PROC.iterdir() if p.name.isdigit()]
    except OSError:
        return []
    return [child for child in entries if parent_of(child) == me]


def kill_children() -> int:
    """SIGKILL the process group of every child in its own group, SIGTERM the others; return how many."""
    own_group = os.getpgrp()
    count = 0
    for child in children():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(child)
            if group != own_group and group == child:  # a session/group leader we started
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(child, signal.SIGTERM)
            count += 1
    return count


@contextlib.contextmanager
def sweeping(interval: float = 0.1) -> Iterator[None]:
    """Keep killing children while the body runs (a worker may start one more training meanwhile)."""
    done = threading.Event()

    def sweep() -> None:
        while not done.wait(interval):
            kill_children()

    thread = threading.Thread(target=sweep, name="demo-reaper", daemon=True)
    kill_children()
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        kill_children()
