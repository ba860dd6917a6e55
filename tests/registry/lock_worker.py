"""Run by the lock test in a separate process: increment a shared counter tag under ModelLock."""

from __future__ import annotations

import sys
import time

from mlflow import MlflowClient

from bot.adapters.mlflow.lock import ModelLock

COUNTER = "test.counter"


def main(uri: str, model: str, rounds: int, start_at: float) -> None:
    client = MlflowClient(uri)
    while time.time() < start_at:  # start both workers together to make them collide
        time.sleep(0.005)
    for _ in range(rounds):
        with ModelLock(client, model, settle=0.1, wait=60.0):
            value = int(client.get_registered_model(model).tags.get(COUNTER, "0"))
            time.sleep(0.01)  # widen the read-modify-write window an unlocked race would hit
            client.set_registered_model_tag(model, COUNTER, str(value + 1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
