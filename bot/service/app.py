"""The webhook service: `POST /webhook`, `/healthz`, `/readyz`, `/metrics`, and in-process workers.

The edge verifies, checks and stores; it never parses a payload into objects (the worker does).
It does check that the payload is JSON (one `json.loads`, ~80 µs for 25 KB) because a malformed
delivery must be refused with 400, not accepted and failed later; benchmarks/webhook.py shows
the durable path still holds well above 30 % of a bare endpoint.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.core.errors import UsageError
from bot.core.events import FORM_TYPE, JSON_TYPE, MalformedDelivery, decode_body, media_type, parse_json
from bot.core.events import verify_signature as signature_ok
from bot.service import composition
from bot.service.composition import ContextFactory
from bot.service.settings import Settings
from bot.service.telemetry import Telemetry

if TYPE_CHECKING:
    from bot.adapters.queue import DurableQueue
    from bot.adapters.queue.batch import AcceptBatcher, Result
    from bot.handlers.routing import Router

log = logging.getLogger("mlbot.app")

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB and drops larger ones
JOB_KEY_PREFIX = "job:"  # the bot's own job keys (bot.usecases.jobs): never a delivery id
TrackerCheck = Callable[[], None]  # raises when the tracker is unreachable


def require_secrets(settings: Settings) -> list[str]:
    """The webhook secrets, or a UsageError: never serve unverifiable deliveries."""
    secrets = settings.webhook_secrets
    if not secrets:
        raise UsageError("MLBOT_WEBHOOK_SECRET is not set, so I cannot verify deliveries; set it to "
                         "the webhook's secret (comma-separated for rotation) and start again")
    return secrets


def tracker_check_for(uri: str) -> TrackerCheck:
    """A cheap reachability check of the MLflow tracking store, without importing mlflow."""
    def check() -> None:
        if uri.startswith(("http://", "https://")):
            import httpx

            httpx.get(uri.rstrip("/") + "/health", timeout=2.0).raise_for_status()
        elif uri.startswith("sqlite:///"):
            folder = Path(uri[len("sqlite:///"):]).parent
            if not folder.is_dir():
                raise FileNotFoundError(f"the MLflow store's folder {folder} does not exist")

    return check


def _answer(code: int, **content: Any) -> JSONResponse:
    return JSONResponse(content, status_code=code)


class Edge:
    """`POST /webhook`: verify the signature, check the delivery, store it durably, answer."""

    def __init__(self, secrets: list[str], wanted: frozenset[str], telemetry: Telemetry) -> None:
        self.secrets, self.wanted, self.metrics = secrets, wanted, telemetry
        self.batcher: AcceptBatcher | None = None  # set once the app has started

    def reject(self, reason: str, status: int, message: str) -> JSONResponse:
        self.metrics.count("mlbot_deliveries_rejected_total", reason=reason)
        return _answer(status, error=message)

    async def handle(self, request: Request) -> Response:
        """Verify, check and durably queue one GitHub delivery."""
        started = time.perf_counter()
        try:
            return await self.receive(request)
        finally:
            self.metrics.observe("mlbot_webhook_seconds", time.perf_counter() - started)

    async def receive(self, request: Request) -> Response:
        headers = request.headers
        self.metrics.count("mlbot_deliveries_received_total")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            return self.reject("too_large", 413, "the payload is larger than 25 MiB")
        if media_type(headers.get("content-type")) not in (JSON_TYPE, FORM_TYPE):
            return self.reject("media_type", 415, "send application/json or application/x-www-form-urlencoded")
        body = await _read_capped(request)
        if body is None:
            return self.reject("too_large", 413, "the payload is larger than 25 MiB")
        if not signature_ok(body, headers.get("x-hub-signature-256"), self.secrets):
            return self.reject("signature", 401, "missing or wrong X-Hub-Signature-256")
        event, delivery_id = headers.get("x-github-event"), headers.get("x-github-delivery")
        if not event or not delivery_id:
            return self.reject("malformed", 400, "X-GitHub-Event and X-GitHub-Delivery are required")
        if delivery_id.startswith(JOB_KEY_PREFIX):
            return self.reject("malformed", 400, "X-GitHub-Delivery must be GitHub's delivery GUID")
        try:
            text = decode_body(headers.get("content-type"), body)
            parse_json(text)
        except MalformedDelivery as error:
            return self.reject("malformed", 400, error.message)
        if event not in self.wanted:
            self.metrics.count("mlbot_deliveries_ignored_total")
            return _answer(200, status="ignored", event=event)
        return await self.store(event, delivery_id, text)

    async def store(self, event: str, delivery_id: str, text: bytes) -> Response:
        from bot.adapters.queue import Delivery

        assert self.batcher is not None, "the app has not started"
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.batcher.submit(Delivery(delivery_id, event, text, time.time()), future)
        result = await future
        if isinstance(result, BaseException):
            return self.reject("queue", 503, "I could not store the delivery; please redeliver it")
        if result is False:
            self.metrics.count("mlbot_deliveries_duplicate_total")
            return _answer(200, status="duplicate", delivery=delivery_id)
        self.metrics.count("mlbot_deliveries_accepted_total")
        return _answer(200 if event == "ping" else 202, status="queued", delivery=delivery_id)


async def _read_capped(request: Request) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(settings: Settings, *, queue: DurableQueue | None = None, router: Router | None = None,
               context_factory: ContextFactory | None = None, tracker_check: TrackerCheck | None = None,
               workers: int | None = None, telemetry: Telemetry | None = None) -> FastAPI:
    """Compose the service: edge, durable queue, and (unless `workers=0`) in-process workers."""
    from bot.handlers import build_router

    routes = router or build_router()
    metrics = telemetry or Telemetry()
    edge = Edge(require_secrets(settings), routes.webhook_events(), metrics)
    check_tracker = tracker_check or tracker_check_for(settings.mlflow_tracking_uri)
    threads = settings.queue_workers if workers is None else workers
    # Opened here, not in the lifespan, so a bad MLBOT_QUEUE_URL is a one-line error before serving.
    durable = queue or composition.open_queue(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from bot.adapters.queue.batch import AcceptBatcher

        loop = asyncio.get_running_loop()

        def resolve(pairs: list[tuple[Any, Result]]) -> None:
            for future, result in pairs:
                if not future.done():
                    future.set_result(result)

        def sink(pairs: list[tuple[Any, Result]]) -> None:  # from the writer thread: one wake-up a batch
            loop.call_soon_threadsafe(resolve, pairs)

        edge.batcher = AcceptBatcher(durable, sink)
        edge.batcher.start()
        consumer = reconciler = processor = None
        if threads > 0:
            from bot.service.reconciler import Reconciler
            from bot.service.worker import attach_worker

            processor = attach_worker(durable, routes, context_factory or composition.context_factory(settings),
                                      metrics)
            consumer = durable.consumer(threads)
            consumer.start()
            durable.start_reaper()
            book = composition.build_repositories(settings) if context_factory is None else None
            reconciler = Reconciler(processor.context, settings.reconcile_interval, metrics, book).start()
        # What is imported and built so far lives as long as the process: keep it out of the
        # garbage collector's full passes, which otherwise stall requests now and then.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # back to normal collection (matters to processes that build apps, like tests)
            edge.batcher.stop()
            if processor is not None:
                processor.stop_runners()  # a long training must not hold the shutdown: it runs again later
            if reconciler is not None:
                reconciler.stop()
            if consumer is not None:
                await run_in_threadpool(consumer.stop, True)
            if queue is None:
                durable.close()

    app = FastAPI(title="mlbot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    # A plain Starlette route: FastAPI's parameter machinery has nothing to do here and costs ~10 %
    # of the hot path (benchmarks/webhook.py reports the server CPU per request).
    app.router.add_route("/webhook", edge.handle, methods=["POST"])

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Answer while the process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        """Answer 200 when the queue and the tracker are reachable, else 503 naming what is down."""
        down: dict[str, str] = {}
        for name, probe in (("queue", durable.ping), ("tracker", check_tracker)):
            try:
                await run_in_threadpool(probe)
            except Exception as error:
                down[name] = f"the {name} is unreachable: {error}"
        if down:
            return _answer(503, status="unavailable", reason="; ".join(down.values()), down=sorted(down))
        return _answer(200, status="ready")

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Counters, queue depth, dead letters, latency and the production watch, in the Prometheus text format.

        The watch gauges are the reconciler's last read of MLflow: a scrape never waits on MLflow.
        """
        counts: dict[str, int] = {str(k): v for k, v in (await run_in_threadpool(durable.counts)).items()}
        gauges: dict[str, dict[tuple[tuple[str, str], ...], float]] = {
            "mlbot_queue_depth": {(): float(counts.get("queued", 0))},
            "mlbot_dead_letters": {(): float(counts.get("dead", 0))},
            "mlbot_deliveries": {(("state", s),): float(n) for s, n in counts.items()},
        }
        return Response(metrics.render(gauges), media_type="text/plain; version=0.0.4")

    return app
