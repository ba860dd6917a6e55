"""Whether a process that holds something (a queue lease, the registry lock) is still alive.

A holder records where it runs (`here()`: host name and PID namespace, so a PID means the same
process to whoever reads it) and its PID; a reader in the same place can tell at once that the
holder died, instead of waiting for its lease to run out.
"""

from __future__ import annotations

import os
import socket


def here() -> str:
    """This host and PID namespace: where a process id means something."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


def alive(pid: int) -> bool:
    """Whether process `pid` of this place exists (a zombie counts as alive until reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's, alive
        return True
    return True


def dead_here(place: str, pid: int) -> bool:
    """Whether a holder at `place` with `pid` is a process of this place that is gone (never this one)."""
    return place == here() and pid != os.getpid() and not alive(pid)
