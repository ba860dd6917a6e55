"""Real processes: a worker killed with SIGKILL mid-job, `mlbot serve` without a secret, Redis scale-out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bot.adapters.queue import open_queue
from tests.service.conftest import MLBOT, SECRET, encode, headers, wait_for
from tests.service.examples import example

ROOT = Path(__file__).resolve().parents[2]


def start_worker(url: str, workdir: Path, lease: float = 1.0, threads: int = 2) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.service.worker_proc", url, str(workdir),
                             str(lease), str(threads)], cwd=ROOT)
    wait_for(lambda: (workdir / f"ready-{proc.pid}").exists() or proc.poll() is not None,
             timeout=60, what="the worker to start")
    assert proc.poll() is None, "the worker exited at start"
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: running jobs finish first
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def lines(path: Path) -> list[tuple[int, str]]:
    if not path.exists():
        return []
    pairs = (line.split() for line in path.read_text().splitlines())
    return [(int(pid), delivery) for pid, delivery in pairs]


def test_a_job_whose_worker_was_killed_runs_to_completion_after_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    queue = open_queue(url, lease_seconds=1.0)
    first = start_worker(url, tmp_path)
    try:
        assert queue.enqueue("slow", {"n": 1}, key="job-1")
        wait_for(lambda: lines(tmp_path / "started"), what="the job to start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert queue.state("job-1")[0] == "running"  # huey already removed its message
        assert queue.enqueue("slow", {"n": 2}, key="job-2")  # accepted while no worker runs
        (tmp_path / "release").touch()
        second = start_worker(url, tmp_path)
        try:
            wait_for(lambda: all(queue.state(j)[0] == "done" for j in ("job-1", "job-2")),
                     what="both jobs to finish after the restart")
        finally:
            stop(second)
    finally:
        stop(first)
        queue.close()
    assert sorted(d for _, d in lines(tmp_path / "completed")) == ["job-1", "job-2"]
    assert [pid for pid, d in lines(tmp_path / "started") if d == "job-1"] == [first.pid, second.pid]


def test_serve_without_a_secret_refuses_to_start_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLBOT_")}
    done = subprocess.run([MLBOT, "serve", "--port", "0"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: MLBOT_WEBHOOK_SECRET is not set, so I cannot verify deliveries; set it to the webhook's "
        "secret (comma-separated for rotation) and start again"]


def test_two_workers_on_redis_process_a_burst_of_500_exactly_once(redis_url, tmp_path, make_service):
    service = make_service(workers=0, queue_url=redis_url)
    workers = [start_worker(redis_url, tmp_path, lease=60, threads=2) for _ in range(2)]
    try:
        payload = example("pull_request", "opened")
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda i: service.post("pull_request", f"burst-{i}", payload).status_code,
                                  range(500)))
        assert codes == [202] * 500
        wait_for(lambda: service.queue.counts()["done"] == 500, timeout=120, what="500 deliveries done")
    finally:
        for proc in workers:
            stop(proc)
    processed = lines(tmp_path / "processed")
    assert sorted(d for _, d in processed) == sorted(f"burst-{i}" for i in range(500))
    assert {pid for pid, _ in processed} == {p.pid for p in workers}  # both workers took a share
    assert service.queue.counts() == {"queued": 0, "running": 0, "retrying": 0, "done": 500, "failed": 0, "dead": 0}


def test_mlbot_serve_starts_answers_and_stops_on_sigterm(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLBOT_")}
    env.update(MLBOT_WEBHOOK_SECRET=SECRET, MLBOT_QUEUE_URL=f"sqlite:///{tmp_path / 'queue.db'}",
               MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")
    proc = subprocess.Popen([MLBOT, "serve", "--port", str(port), "--workers", "0"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(url + "/healthz").status_code == 200
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                return False

        wait_for(up, timeout=60, what="mlbot serve to answer")
        body = encode(example("ping"))
        answer = httpx.post(url + "/webhook", content=body, headers=headers("ping", "serve-1", body))
        assert answer.status_code == 200 and answer.json()["status"] == "queued"
        assert httpx.get(url + "/readyz").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), err  # uvicorn re-raises the signal once it has shut down
    assert "Application shutdown complete." in err
    assert "Traceback" not in err
