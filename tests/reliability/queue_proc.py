"""Run by the queue crash test in a subprocess: claim a delivery and die with SIGKILL while running it."""

from __future__ import annotations

import os
import signal
import sys

from bot.adapters.queue import open_queue


def main(url: str, delivery_id: str) -> None:
    queue = open_queue(url)
    queue.attach(lambda delivery: os.kill(os.getpid(), signal.SIGKILL))
    queue.run_one(delivery_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
