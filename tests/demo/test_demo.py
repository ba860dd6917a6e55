"""`mlbot demo` as a newcomer runs it: the whole story, twice, and interrupted in the middle."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.demo.test_cleanup import alive

MLBOT = Path(sys.executable).with_name("mlbot")
URL = re.compile(r"^\s+(sandbox GitHub|mlbot serve)\s+http://127\.0\.0\.1:(\d+)$", re.MULTILINE)

pytestmark = pytest.mark.slow


def start_demo(workdir: Path, cwd: Path, *args: str) -> subprocess.Popen[str]:
    """Start `mlbot demo` in its own session, the way a terminal runs a foreground job."""
    return subprocess.Popen([str(MLBOT), "demo", "--workdir", str(workdir), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "COLUMNS": "100"})


class Running:
    """A demo running in the background; its output is collected line by line."""

    def __init__(self, workdir: Path, cwd: Path, *args: str) -> None:
        self.workdir = workdir
        self.process = start_demo(workdir, cwd, *args)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition, timeout: float = 150.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.05)
        assert condition(), self.output[-3000:]

    def interrupt(self) -> int:
        """Ctrl-C as a terminal sends it (to the foreground group); return the exit code."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=90)
        self.reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def leftovers(workdir: Path, session: int) -> list[str]:
    """Processes still in the demo's session, or working in / naming its directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or not alive(int(entry.name)):
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat[3]) == session or cwd.startswith(str(workdir)) or str(workdir) in cmdline:
            found.append(f"{entry.name} (cwd {cwd}): {cmdline[:1000]}")
    return found


def assert_ports_free(output: str) -> None:
    ports = [int(port) for _, port in URL.findall(output)]
    assert len(ports) == 2, output[:2000]
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))  # fails while anything still listens there


def run_to_end(workdir: Path, cwd: Path, *args: str) -> str:
    process = start_demo(workdir, cwd, *args)
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 0, output[-4000:]
    assert leftovers(workdir, process.pid) == []
    assert_ports_free(output)
    return output


def test_the_demo_tells_the_whole_story_and_runs_again_without_cleanup(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    output = run_to_end(workdir, tmp_path)

    baseline, pr1, pr2, commands, watch, summary = re.split(r"\n━━ (?:\d\. .*|Summary) ━+", output)[2:]
    assert "$ mlbot promote" in baseline and "promoted breast-cancer v1 to production (first promotion)" in baseline
    # PR #1: the sticky report, readable (a table of metrics and one of gates), then the promotion
    assert re.search(r"│ roc_auc ↑ +0\.\d{4} +0\.\d{4} +\+0\.\d{4}", pr1), pr1
    assert re.search(r"│ gate +verdict", pr1)
    # the review gate holds it (waiting, not blocked) until rey approves; then the same comment says promotable
    assert pr1.index("│ ⏳ mlbot · breast-cancer · waiting") < pr1.index("│ ✅ mlbot · breast-cancer · promotable")
    assert "✓ mlbot/gates: success" in pr1
    assert "│ 🚀 promoted breast-cancer v2 to production (was v1)." in pr1
    # PR #2: the report shows the regression, the gates fail, merging it promotes nothing
    assert re.search(r"│ roc_auc ↑ +0\.\d{4} +0\.\d{4} +-0\.\d{4}", pr2), pr2
    assert "✗ mlbot/gates: failure" in pr2
    assert ("│ I did not promote breast-cancer: 1 blocking gate(s) did not pass. Production stays where it\n"
            "  │ is.") in pr2
    assert "roc_auc is not worse than production: fail" in pr2
    # commands: a writer may not promote; a maintainer rolls back
    assert "│ @alice I did not run `/promote`: /promote needs maintain or admin permission" in commands
    assert "│ ⏪ rolled back breast-cancer production to v1 (was v2)." in commands
    # the watch: a healthy day opens nothing; a drifted one opens the issue naming the features and the decay
    assert "400 rows that look like the training data" in watch and "no issue is opened" in watch
    assert "The bot opens issue #3" in watch
    assert all(f"- {column}: KS p=" in watch for column in ("worst radius", "mean texture", "worst concave points"))
    assert re.search(r"❌ fail +primary metric holds on labelled windows", watch), watch
    assert re.search(r"- roc_auc: 0\.\d+ on 400 labelled rows vs 0\.\d+ at promotion \(Δ -0\.\d+, 95% CI", watch)
    # /retrain there: the refresh script runs on main and its pull request is trained and judged
    assert "maya comments in issue #3:  /retrain" in watch
    assert "│ @maya opened #4 with the refreshed training data (1 file)" in watch
    assert "mlbot/refresh-breast-cancer-" in watch and "✓ mlbot/train: success" in watch
    assert "Production: breast-cancer v1." in summary
    assert re.search(r"promote +— → v1 .*\n.*promote +v1 → v2 +PR #1 .*\n.*rollback +v2 → v1", summary), summary
    assert f"mlflow ui --backend-store-uri sqlite:///{workdir.resolve()}/stack/mlflow.db" in summary
    assert "<" not in output and "|---" not in output and "**" not in output  # no raw Markdown or HTML
    assert not (tmp_path / "mlruns").exists()  # everything lives in the workdir

    # the same directory again (wiped on start), quiet, and kept up for a look in the browser
    demo = Running(workdir, tmp_path, "--quiet", "--serve")
    try:
        demo.wait_for(lambda: "Ctrl-C stops everything" in demo.output)
        assert "│ gate" not in demo.output  # quiet: only the first line of each bot comment
        page = re.search(r"(http://127\.0\.0\.1:\d+/acme/breast-cancer/pull/2)", demo.output)
        assert page, demo.output
        with urllib.request.urlopen(page.group(1), timeout=10) as response:
            html = response.read().decode()
        assert "I did not promote" in html and "roc_auc is not worse than production" in html
        assert demo.interrupt() == 0  # Ctrl-C is how --serve ends
    finally:
        demo.kill()
    assert "Production: breast-cancer v1." in demo.output and "Stopped." in demo.output
    assert leftovers(workdir, demo.process.pid) == []
    assert_ports_free(demo.output)


def test_ctrl_c_in_the_middle_of_training_leaves_nothing_running(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    demo = Running(workdir, tmp_path)
    try:
        # the local runner evaluates PR #1 in its own session, with its cwd in the demo's directory (the fit
        # before it ran in the sandbox, which dies with the bot: bwrap --die-with-parent)
        demo.wait_for(lambda: "alice opens PR #1" in demo.output and any(
            " evaluate " in p and "--pr 1" in p for p in leftovers(workdir, -1)))
        assert demo.interrupt() == 130
    finally:
        demo.kill()
    output = demo.output
    assert "Interrupted: stopping everything the demo started" in output and "Stopped." in output
    assert "Traceback" not in output
    assert leftovers(workdir, demo.process.pid) == []
    assert_ports_free(output)
