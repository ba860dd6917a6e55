"""`mlbot sandbox` serves until interrupted, with the repositories asked for."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.sandbox.receiver import Receiver


def test_mlbot_sandbox_serves_and_stops(tmp_path: Path) -> None:
    receiver = Receiver()
    command = [sys.executable, "-c", "from bot.cli import main; main()", "sandbox", "--port", "0",
               "--state-dir", str(tmp_path / "state"), "--repo", "acme/demo",
               "--webhook-url", receiver.url, "--webhook-secret", "s3cret"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while "sandbox GitHub API at" not in line and time.monotonic() < deadline:
            line = process.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        answer = httpx.get(f"{found.group(1)}/repos/acme/demo",
                           headers={"Authorization": "token sandbox-bot-token"})
        assert answer.status_code == 200 and answer.json()["default_branch"] == "main"
        assert (tmp_path / "state" / "repos" / "acme" / "demo.git" / "HEAD").exists()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        receiver.close()
    assert process.returncode == 0


def test_a_webhook_url_without_secret_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "sandbox",
                           "--webhook-url", "http://127.0.0.1:1/webhook"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --webhook-url needs --webhook-secret")
    assert "next: pass the same secret as MLBOT_WEBHOOK_SECRET" in done.stderr
