"""Run by the crash tests in a subprocess: promote (or roll back), SIGKILLing itself right after step `crash_after`."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from mlflow import MlflowClient

from bot.adapters.mlflow.registry import Registry


def main(uri: str, lock_dir: str, model: str, action: str, target: str, crash_after: str) -> None:
    def hook(step: str) -> None:
        if step == crash_after:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally: what a crash or the OOM killer does

    registry = Registry(MlflowClient(uri), tracking_uri=uri, lock_dir=Path(lock_dir), lock_settle=0.02,
                        step_hook=hook)
    if action == "promote":
        registry.promote(model, target, by="alice", reason="merged #2", pr=2, effects=("deployment", "comment"),
                         details={"repo": "acme/churn", "ref": "abc123"})
    else:
        registry.rollback(model, by="mona", reason="bad latency", effects=("comment",))


if __name__ == "__main__":
    main(*sys.argv[1:7])
