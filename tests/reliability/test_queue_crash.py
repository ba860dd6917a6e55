"""A worker killed with SIGKILL mid-job: its delivery is taken back at once, not after its lease."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from bot.adapters.queue import Delivery, open_queue

ROOT = Path(__file__).resolve().parents[2]


def test_the_job_of_a_killed_worker_runs_again_without_waiting_for_its_lease(queue_url: str) -> None:
    url = queue_url
    queue = open_queue(url, lease_seconds=300)
    queue.accept([Delivery("merge", "pull_request", b"{}")])
    killed = subprocess.run([sys.executable, "-m", "tests.reliability.queue_proc", url, "merge"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert queue.state("merge") == ("running", 1, "")  # its 300 s lease would hold it for minutes

    ran = []
    queue.attach(lambda d: ran.append(d.attempts))
    assert queue.reap() == 0  # the lease has not expired
    assert queue.reclaim_orphans() == 1  # but its process is gone
    assert queue.run_one("merge") == "done"
    assert ran == [2]
    queue.close()


def test_a_live_workers_job_is_left_alone(queue_url: str) -> None:
    queue = open_queue(queue_url)
    queue.accept([Delivery("busy", "push", b"{}")])
    assert queue.store.claim("busy", 0.0, 1e12, queue.holder) is not None  # this very process runs it
    assert queue.reclaim_orphans() == 0
    queue.close()
