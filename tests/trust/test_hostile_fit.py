"""A hostile fit runs inside the sandbox: it finds no secret, no bot file, no network, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bot
from tests.lifecycle.helpers import git

HOSTILE = Path(__file__).with_name("hostile_fit.py")
SECRETS = {
    "MLBOT_WEBHOOK_SECRET": "whsec-fake-0c7f9a1e5b",
    "MLBOT_GITHUB_TOKEN": "ghs_FakeInstallationToken0123456789",
    "MLBOT_GITHUB_PRIVATE_KEY": ("-----BEGIN RSA PRIVATE KEY-----\nMIIfakeKEYbody0123456789\n"
                                 "-----END RSA PRIVATE KEY-----"),
    "MLFLOW_TRACKING_URI": "http://mlbot:registry-password@127.0.0.1:5000",
}
MEMORY_MB = 512
STANDIN = Path(__file__).with_name("bot_standin.py")


@dataclass
class Bot:
    """The bot's private state on this host, as the hostile fit would love to find it."""

    data_dir: Path
    queue_db: Path
    mlflow_db: Path
    port: int


@pytest.fixture
def the_bot(tmp_path: Path) -> Iterator[Bot]:
    """A data dir with a queue, an MLflow store, a listening port (the secrets are in the stand-in's environment)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    queue_db = data_dir / "queue.db"
    queue_db.write_text("QUEUE-ROWS")
    mlflow_db = tmp_path / "mlflow.db"
    mlflow_db.write_text("REGISTRY-ROWS")
    with socket.create_server(("127.0.0.1", 0)) as server:  # the bot's webhook / MLflow port
        yield Bot(data_dir, queue_db, mlflow_db, server.getsockname()[1])


def probe_for(bot_state: Bot, tmp_path: Path, nonce: str, writes: list[str] | None = None) -> dict[str, Any]:
    """What the hostile fit tries: the bot's files, its port, writes everywhere, daemons, too much memory."""
    package = Path(bot.__file__).parent
    return {
        "nonce": nonce,
        "port": bot_state.port,
        "memory_bytes": 2 * MEMORY_MB * 1024 * 1024,
        "list": [str(bot_state.data_dir), str(Path.home()), str(tmp_path), "/etc", "/"],
        "read": [str(bot_state.queue_db), str(bot_state.mlflow_db), "/etc/passwd", "/etc/shadow",
                 "/proc/1/environ", f"/proc/{os.getpid()}/environ"],
        "write": writes if writes is not None else [
            "/mlbot/project/planted.py", str(package / "planted.py"), "/planted", "/etc/planted",
            str(bot_state.data_dir / "planted"), f"{sys.prefix}/planted", f"/tmp/escape-{nonce}"],
    }


def standin(request: dict[str, Any]) -> dict[str, Any]:
    """Run bot_standin.py with the secrets in its exec environment; return what it printed."""
    request = {**request, "limits": {"memory_mb": MEMORY_MB, "cpu_seconds": 60}}
    done = subprocess.run([sys.executable, str(STANDIN), json.dumps(request)], env={**os.environ, **SECRETS},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_hostile(bot_state: Bot, tmp_path: Path, nonce: str, *, mode: str = "sandbox",
                writes: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run hostile_fit.py in the sandbox of a bot stand-in holding the secrets; return its end and findings."""
    project, output = tmp_path / "checkout", tmp_path / "output"
    project.mkdir()
    output.mkdir()
    shutil.copy(HOSTILE, project / "hostile_fit.py")
    finished = standin({"mode": mode, "hidden": [str(bot_state.data_dir)], "project": str(project),
                        "output": str(output), "scratch": str(tmp_path),
                        "probe": probe_for(bot_state, tmp_path, nonce, writes)})
    return finished, json.loads((output / "findings.json").read_text())


def processes_mentioning(text: str) -> list[int]:
    """Return the pids of host processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and text in cmdline:
            found.append(int(entry.name))
    return found


def new_nonce() -> str:
    """A unique `sleep` duration (seconds) to find the fit's daemons by."""
    return f"{900 + uuid.uuid4().int % 99}.{uuid.uuid4().int % 10**6:06d}"


def assert_contained(found: dict[str, Any], the_bot: Bot, tmp_path: Path, nonce: str) -> None:
    """Assert the hostile fit found no secret or bot file, had no network, wrote nothing, and left nothing."""
    everything = json.dumps(found)
    for name, value in SECRETS.items():  # nowhere: not its environment, not any /proc/*/environ
        for part in [value, *value.splitlines()[1:2]]:
            assert part not in everything, f"{name} leaked into the sandbox"
    assert not any(key.startswith(("MLBOT_", "MLFLOW_", "GITHUB")) for key in found["own_environ"])
    assert found["pids"] == [1, 2]  # its own pid namespace: bwrap's init and itself, not the bot
    assert found["bot_environ"].startswith("error: FileNotFoundError")  # /proc/<bot pid> does not exist there
    assert found["uid"] == 65534
    assert all(line.split(":")[1].strip() == "0000000000000000" for line in found["capabilities"])
    assert found["home"] == []  # HOME is private and empty
    # the bot's data dir, the test tree (home of the MLflow store) and ~ are not there at all
    for path in (the_bot.data_dir, tmp_path):
        assert found["listed"][str(path)].startswith("error: FileNotFoundError"), found["listed"][str(path)]
    home_listing = found["listed"][str(Path.home())]
    visible_in_home = set(home_listing) if isinstance(home_listing, list) else set()
    needed = {Path(p).relative_to(Path.home()).parts[0] for p in (sys.base_prefix, sys.prefix)
              if Path(p).is_relative_to(Path.home())}
    assert visible_in_home <= needed  # at most the way to the interpreter, never the files beside it
    assert "passwd" not in found["listed"]["/etc"] and "shadow" not in found["listed"]["/etc"]
    for path in (the_bot.queue_db, the_bot.mlflow_db, Path("/etc/passwd"), Path("/etc/shadow")):
        assert found["read"][str(path)].startswith("error: FileNotFoundError")
    assert "QUEUE-ROWS" not in everything and "REGISTRY-ROWS" not in everything
    # no network: the bot's listening port is unreachable, and names do not resolve
    assert found["connect"].startswith("error: ConnectionRefusedError")
    assert found["dns"].startswith("error: gaierror")
    # writes: read-only everywhere except its output dir and a private /tmp that vanishes
    for path, result in found["writes"].items():
        if path == f"/tmp/escape-{nonce}":
            assert result == "written"
        else:
            assert result.startswith("error: "), path
    assert not (Path(bot.__file__).parent / "planted.py").exists()
    assert not (the_bot.data_dir / "planted").exists()
    assert not Path(f"/tmp/escape-{nonce}").exists()
    # limits and lifetime: the allocation over the limit failed, and its daemons died with the sandbox
    assert found["memory"].startswith("error: MemoryError")
    assert found["background"] == "started"
    assert processes_mentioning(nonce) == []


@pytest.mark.usefixtures("bwrap")
def test_a_hostile_fit_finds_no_secret_no_bot_file_no_network_and_leaves_nothing(
    the_bot: Bot, tmp_path: Path
) -> None:
    nonce = new_nonce()

    finished, found = run_hostile(the_bot, tmp_path, nonce)

    assert finished["returncode"] == 0, finished["output"]
    assert_contained(found, the_bot, tmp_path, nonce)
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["findings.json"]


@pytest.mark.usefixtures("bwrap")
def test_a_hostile_pull_request_through_the_local_runner_is_contained_and_evaluated_outside(
    the_bot: Bot, tmp_path: Path
) -> None:
    work, nonce = tmp_path / "repo", new_nonce()
    work.mkdir()
    git(work, "init", "-q")
    shutil.copy(HOSTILE, work / "hostile_fit.py")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "a helpful pull request")
    sha = git(work, "rev-parse", "HEAD")
    (tmp_path / "output").mkdir()

    outcome = standin({"mode": "runner", "clone_url": str(work), "sha": sha, "data_dir": str(the_bot.data_dir),
                       "tracking_uri": f"sqlite:///{the_bot.mlflow_db}", "output": str(tmp_path / "output"),
                       "probe": probe_for(the_bot, tmp_path, nonce)})

    assert (outcome["ok"], outcome["run_id"]) == (True, "r1"), outcome
    assert outcome["log_tail"] == "hostile fit done\nrun_id=r1"
    assert_contained(json.loads((tmp_path / "output" / "findings.json").read_text()), the_bot, tmp_path, nonce)


def test_the_control_without_the_sandbox_the_same_fit_steals_the_secrets(the_bot: Bot, tmp_path: Path) -> None:
    """The hostile script has teeth: unsandboxed (the opt-out), it reads what the sandbox hides."""
    nonce = new_nonce()
    try:
        finished, found = run_hostile(the_bot, tmp_path, nonce, mode="unsafe", writes=[str(tmp_path / "planted")])
        assert finished["returncode"] == 0, finished["output"]
        assert SECRETS["MLBOT_WEBHOOK_SECRET"] in found["bot_environ"]  # /proc/<bot pid>/environ
        assert found["read"][str(the_bot.queue_db)] == "QUEUE-ROWS"
        assert found["connect"] == "connected"
        assert processes_mentioning(nonce)  # its daemons outlive the job
    finally:
        for pid in processes_mentioning(nonce):  # ours: started by this test's hostile script
            os.kill(pid, signal.SIGKILL)


# A fit that starts a daemon, says it is ready through a FIFO in its output dir, and waits forever.
LINGER = """
import os, subprocess, sys, time
subprocess.Popen(["sleep", sys.argv[2]], start_new_session=True)
with open(os.path.join(sys.argv[1], "ready"), "w") as ready:
    ready.write("up")
time.sleep(600)
"""


@pytest.mark.usefixtures("bwrap")
def test_when_the_bot_dies_its_sandboxed_fit_dies_with_it(the_bot: Bot, tmp_path: Path) -> None:
    nonce = new_nonce()
    project, output = tmp_path / "checkout", tmp_path / "output"
    project.mkdir()
    output.mkdir()
    os.mkfifo(output / "ready")
    request = {"mode": "sandbox", "hidden": [], "project": str(project), "output": str(output),
               "scratch": str(tmp_path), "probe": {}, "source": LINGER.replace("sys.argv[2]", repr(nonce)),
               "limits": {"memory_mb": MEMORY_MB, "cpu_seconds": 60}}
    bot_process = subprocess.Popen([sys.executable, str(STANDIN), json.dumps(request)], env={**os.environ, **SECRETS},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert (output / "ready").read_text() == "up"  # blocks until the fit and its daemon run
        assert processes_mentioning(nonce)
    finally:
        bot_process.kill()  # the bot is killed outright: no cleanup code of ours runs
        bot_process.wait()
    deadline = time.monotonic() + 60  # the kernel tears the namespace down asynchronously; not a speed claim
    while processes_mentioning(nonce) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_mentioning(nonce) == []
