"""Run the demo: prepare its directory, start the stack, play the story, and always clean up.

Everything the demo starts stops here, on success, on failure and on Ctrl-C: the bot (its
workers finish or lose their training subprocess), the sandbox, and any `mlbot train` process
group the local runner started in its own session.
"""

from __future__ import annotations

import logging
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from bot.core.errors import UsageError
from bot.demo.processes import sweeping
from bot.demo.story import Demo, DemoOptions

MARKER = ".mlbot-demo"  # only a directory carrying this file (or an empty one) is ever wiped


def prepare_workdir(workdir: Path) -> Path:
    """Empty `workdir` for a fresh run, refusing to wipe a directory the demo did not create."""
    workdir = workdir.resolve()
    if workdir.exists():
        if not workdir.is_dir():
            raise UsageError(f"--workdir {workdir} is a file", hint="pass a directory for the demo")
        if any(workdir.iterdir()) and not (workdir / MARKER).exists():
            raise UsageError(f"--workdir {workdir} is not empty and was not made by `mlbot demo`, "
                             "so I will not delete it", hint="pass an empty or new directory")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("created by `mlbot demo`; wiped by the next run\n")
    return workdir


@contextmanager
def logging_to(path: Path) -> Iterator[None]:
    """Send the bot's logs to a file for the run: the terminal is for the story."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def terminate_is_interrupt() -> Iterator[None]:
    """SIGTERM cleans up like Ctrl-C (only the main thread may install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def uninterruptible() -> Iterator[None]:
    """Ignore further Ctrl-C while shutting down, so the shutdown itself cannot be cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def wait_forever() -> None:
    """Block until Ctrl-C (KeyboardInterrupt) or SIGTERM."""
    stop = threading.Event()
    while not stop.wait(1.0):
        pass


def run_demo(options: DemoOptions, echo: Callable[[str], None], *, serve: bool = False,
             wait: Callable[[], None] = wait_forever) -> None:
    """Play the whole story on a fresh stack in `options.workdir`; with `serve`, stay up until Ctrl-C."""
    from bot.demo.stack import LocalStack  # FastAPI, uvicorn and the sandbox load only when the demo runs

    workdir = prepare_workdir(options.workdir)
    options = DemoOptions(workdir, options.example, options.quiet, options.width)
    stack = LocalStack(workdir / "stack")
    interrupted = story_told = False
    with logging_to(workdir / "demo.log"), terminate_is_interrupt():
        try:
            echo(f"Starting the sandbox GitHub, mlbot serve (local runner) and MLflow (SQLite) in {workdir} …")
            stack.start()
            echo(f"  sandbox GitHub  {stack.github.base_url}\n  mlbot serve     {stack.bot_url}\n"
                 f"  MLflow          {stack.tracking_uri}")
            demo = Demo(stack, options, echo)
            demo.play()
            demo.look_deeper(serve)
            story_told = True
            if serve:
                wait()
        except KeyboardInterrupt:
            interrupted = not story_told  # after the story, Ctrl-C is how --serve ends
        finally:
            with uninterruptible():
                echo("\nInterrupted: stopping everything the demo started …" if interrupted
                     else "\nStopping the bot and the sandbox …")
                with sweeping():
                    stack.stop()
                echo("Stopped.")
    if interrupted:
        raise KeyboardInterrupt
