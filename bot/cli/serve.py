"""`mlbot serve` (webhook server + in-process workers) and `mlbot worker` (workers only)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Annotated

import typer

from bot.core.errors import UsageError
from bot.service.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.adapters.queue import DurableQueue


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)  # one line per task is noise; ours says more


def _redacted(url: str) -> str:
    """The queue address without a password (redis://:secret@host)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if "@" in rest else url


def require_github(settings: Settings) -> None:
    """Workers talk to GitHub: refuse to start them without credentials, rather than fail every job."""
    if not (settings.github_token or (settings.github_app_id and (settings.github_private_key
                                                                 or settings.github_private_key_file))):
        raise UsageError("no GitHub credentials are set, so my workers could not answer any pull request",
                         hint="set MLBOT_GITHUB_TOKEN, or MLBOT_GITHUB_APP_ID with MLBOT_GITHUB_PRIVATE_KEY(_FILE); "
                              "or start with --workers 0 to only receive webhooks")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int | None, typer.Option(
        help="Worker threads in this process (0: run `mlbot worker` separately).")] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs ~25% throughput).")] = False,
) -> None:
    """Serve POST /webhook, /healthz, /readyz and /metrics, with in-process workers."""
    import uvicorn

    from bot.service.app import create_app, require_secrets

    settings = load_settings()
    require_secrets(settings)
    if (settings.queue_workers if workers is None else workers) > 0:
        require_github(settings)
    app = create_app(settings, workers=workers)
    _logging()
    uvicorn.run(app, host=host, port=port, loop="uvloop", http="httptools", access_log=access_log,
                log_level="info", lifespan="on")


def worker(
    workers: Annotated[int | None, typer.Option(help="Worker threads (default MLBOT_QUEUE_WORKERS).")] = None,
    dead_letters: Annotated[bool, typer.Option(
        "--dead-letters", help="List the deliveries that failed or kept failing, then exit.")] = False,
    retrying: Annotated[bool, typer.Option(
        "--retrying", help="List the deliveries waiting to retry (a dependency was down), then exit.")] = False,
    requeue: Annotated[str | None, typer.Option(
        "--requeue", metavar="ID",
        help="Put one failed, dead or retrying delivery back in the queue now, then exit.")] = None,
) -> None:
    """Process queued deliveries (scale out with several of these on a Redis queue)."""
    from bot.handlers import build_router
    from bot.service.composition import build_repositories, context_factory, open_queue
    from bot.service.reconciler import Reconciler
    from bot.service.worker import attach_worker

    settings = load_settings()
    queue = open_queue(settings)
    if dead_letters or retrying or requeue:
        try:
            _inspect(queue, dead_letters=dead_letters, retrying=retrying, requeue=requeue)
        finally:
            queue.close()
        return
    threads = settings.queue_workers if workers is None else workers
    if threads < 1:
        raise UsageError("--workers must be at least 1")
    _logging()
    logging.getLogger("mlbot.worker").info("processing %s with %d thread(s)", _redacted(settings.queue_url),
                                           threads)
    require_github(settings)
    processor = attach_worker(queue, build_router(), context_factory(settings))  # the same ports as `mlbot serve`
    processor.context()  # built now: a promotion a crash interrupted is finished before new work
    queue.start_reaper()
    Reconciler(processor.context, settings.reconcile_interval, repositories=build_repositories(settings)).start()
    try:
        # huey owns SIGINT/SIGTERM here; the running trainings are stopped first, their jobs handed back
        queue.consumer(threads, in_thread=False, on_stop=processor.stop_runners).run()
    finally:
        queue.close()


def _inspect(queue: DurableQueue, *, dead_letters: bool, retrying: bool, requeue: str | None) -> None:
    """The operator's view of the queue: list what gave up or waits, put one back."""
    if requeue:
        if not queue.requeue(requeue):
            raise UsageError(f"delivery {requeue} is not a failed, dead or retrying delivery I can run again",
                             hint="run `mlbot worker --dead-letters` or `--retrying` to list the ones that are")
        typer.echo(f"requeued {requeue}; a running worker picks it up")
        return
    if dead_letters:
        letters = queue.dead_letters(100)
        for letter in letters:
            typer.echo(f"{letter.id}\t{letter.state}\t{letter.event}\tattempts={letter.attempts}\t{letter.error}")
        typer.echo(f"{len(letters)} dead letter(s); put one back with `mlbot worker --requeue ID`", err=True)
    if retrying:
        waiting = queue.retrying(100)
        for letter in waiting:
            at = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(letter.next_at))
            typer.echo(f"{letter.id}\tretrying\t{letter.event}\tnext={at}\t{letter.error}")
        typer.echo(f"{len(waiting)} waiting to retry; run one now with `mlbot worker --requeue ID`", err=True)


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command()(serve)
    app.command()(worker)
