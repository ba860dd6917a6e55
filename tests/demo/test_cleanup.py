"""What the demo relies on to leave nothing behind: its children's process groups, and its directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.errors import UsageError
from bot.demo.processes import children, kill_children, parent_of, sweeping
from bot.demo.session import MARKER, prepare_workdir

# A child in its own session (like the local runner's `mlbot train`) that starts a grandchild.
SPAWNER = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(grandchild.pid, flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_killing_children_stops_a_training_session_with_its_grandchildren() -> None:
    process = subprocess.Popen([sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        grandchild = int(process.stdout.readline())  # type: ignore[union-attr]
        assert process.pid in children() and parent_of(grandchild) == process.pid
        assert kill_children() >= 1
        assert process.wait(timeout=10) == -9
        assert wait_until(lambda: not alive(grandchild)), "the grandchild outlived its group"
        assert process.pid not in children()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_sweeping_also_stops_a_child_started_while_it_runs() -> None:
    late: list[subprocess.Popen[bytes]] = []
    with sweeping(interval=0.02):
        late.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                     start_new_session=True))
        assert wait_until(lambda: late[0].poll() is not None), "the sweep did not stop the new child"
    assert late[0].returncode == -9


def test_parent_of_reads_names_with_spaces_and_parentheses(tmp_path: Path) -> None:
    script = tmp_path / "odd (name) x.py"
    script.write_text("import time; time.sleep(600)\n")
    link = tmp_path / "py (odd) ) name"
    link.symlink_to(sys.executable)
    process = subprocess.Popen([str(link), str(script)])
    try:
        assert parent_of(process.pid) == os.getpid()
    finally:
        process.kill()
        process.wait()
    assert parent_of(2**22 + 12345) is None


def test_the_workdir_is_wiped_only_when_the_demo_made_it(tmp_path: Path) -> None:
    fresh = prepare_workdir(tmp_path / "new")
    assert (fresh / MARKER).is_file()
    (fresh / "stack").mkdir()
    (fresh / "stack" / "mlflow.db").write_text("old")
    again = prepare_workdir(tmp_path / "new")
    assert sorted(p.name for p in again.iterdir()) == [MARKER]  # a second run starts clean

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(UsageError, match="was not made by `mlbot demo`"):
        prepare_workdir(precious)
    assert (precious / "thesis.tex").read_text() == "years of work"

    empty = tmp_path / "empty"
    empty.mkdir()
    assert (prepare_workdir(empty) / MARKER).is_file()
