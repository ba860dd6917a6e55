"""A hostile fit: everything a pull request's training code might try, reporting what it got.

Run inside the sandbox as `python hostile_fit.py PROBE_JSON ... --output DIR ...`: it writes
DIR/findings.json and exits 0 whatever it finds. The tests decide what counts as a leak.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path


def attempt(action):  # type: ignore[no-untyped-def]
    """Return what `action()` returned, or the error it raised, as text."""
    try:
        return action()
    except BaseException as error:
        return f"error: {type(error).__name__}: {error}"


def read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read(1 << 20).decode("utf-8", "replace")


def every_environ() -> dict[str, str]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() or entry in ("self", "thread-self"):
            found[entry] = attempt(lambda entry=entry: read(f"/proc/{entry}/environ"))
    return found


def connect(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        return "connected"


def write(path: str) -> str:
    with open(path, "w") as handle:
        handle.write("written by the pull request")
    return "written"


def leave_behind(nonce: str) -> str:
    # a daemon the runner did not start: a new session, and a double fork detached from the fit
    subprocess.Popen(["sleep", nonce], start_new_session=True, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", nonce])
        os._exit(0)
    os.wait()
    return "started"


def main() -> None:
    probe = json.loads(sys.argv[1])
    output = Path(sys.argv[sys.argv.index("--output") + 1])
    findings = {
        "argv": sys.argv,
        "uid": os.getuid(),
        "own_environ": dict(os.environ),
        "proc_environ": every_environ(),
        "bot_environ": attempt(lambda: read(f"/proc/{probe['host_pid']}/environ")),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "capabilities": attempt(lambda: [line for line in read("/proc/self/status").splitlines()
                                         if line.startswith("Cap")]),
        "home": attempt(lambda: sorted(os.listdir(os.path.expanduser("~")))),
        "listed": {path: attempt(lambda path=path: sorted(os.listdir(path))) for path in probe["list"]},
        "read": {path: attempt(lambda path=path: read(path)) for path in probe["read"]},
        "connect": attempt(lambda: connect(probe["port"])),
        "dns": attempt(lambda: socket.getaddrinfo("github.com", 443)),
        "writes": {path: attempt(lambda path=path: write(path)) for path in probe["write"]},
        "background": attempt(lambda: leave_behind(probe["nonce"])),
        "memory": attempt(lambda: len(bytearray(probe["memory_bytes"]))),
    }
    (output / "findings.json").write_text(json.dumps(findings, indent=1, default=str))
    print("hostile fit done")


if __name__ == "__main__":
    main()
