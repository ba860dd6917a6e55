"""A worker process for the crash and scale-out tests: the real queue and huey consumer, a test router.

Usage: python -m tests.service.worker_proc QUEUE_URL WORKDIR LEASE_SECONDS THREADS
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bot.adapters.queue import open_queue
from bot.core.events import Event
from bot.handlers.routing import Router
from bot.ports import Context
from bot.service.worker import attach_worker


def append(path: Path, delivery_id: str) -> None:
    """Append one line atomically (O_APPEND, one write), so several processes can share the file."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {delivery_id}\n".encode())
    finally:
        os.close(fd)


def main() -> None:
    url, workdir, lease, threads = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    queue = open_queue(url, lease_seconds=lease, retry_delay=0.05)
    router = Router()

    @router.register("slow")
    def slow(event: Event, ctx: Context) -> None:  # runs until the test releases it
        append(workdir / "started", event.delivery_id)
        while not (workdir / "release").exists():
            time.sleep(0.01)
        append(workdir / "completed", event.delivery_id)

    @router.register("pull_request")
    def count(event: Event, ctx: Context) -> None:
        time.sleep(0.005)  # a little work, so every worker gets a share of a burst
        append(workdir / "processed", event.delivery_id)

    def ports(queue: object) -> Context:  # the test handlers use no port
        return Context(forge=None, queue=queue, tracker=None, bot_login="mlbot[bot]")  # type: ignore[arg-type]

    attach_worker(queue, router, ports)
    queue.start_reaper(interval=0.2)
    (workdir / f"ready-{os.getpid()}").touch()
    queue.consumer(threads, in_thread=False).run()


if __name__ == "__main__":
    main()
