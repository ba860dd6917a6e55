"""`mlbot serve` (webhook server + in-process workers) and `mlbot worker` (workers only)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from bot.core.errors import UsageError
from bot.service.settings import Settings, load_settings


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
        "--dead-letters", help="List the deliveries that kept failing, then exit.")] = False,
) -> None:
    """Process queued deliveries (scale out with several of these on a Redis queue)."""
    from bot.handlers import build_router
    from bot.service.composition import context_factory, open_queue
    from bot.service.reconciler import Reconciler
    from bot.service.worker import attach_worker

    settings = load_settings()
    queue = open_queue(settings)
    if dead_letters:
        letters = queue.dead_letters(100)
        for letter in letters:
            typer.echo(f"{letter.id}\t{letter.event}\tattempts={letter.attempts}\t{letter.error}")
        typer.echo(f"{len(letters)} dead letter(s)", err=True)
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
    queue.start_reaper()
    Reconciler(processor.context, settings.reconcile_interval).start()
    try:
        queue.consumer(threads, in_thread=False).run()  # huey's consumer: SIGINT/SIGTERM stop it
    finally:
        queue.close()


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command()(serve)
    app.command()(worker)
