"""The sandbox's FastAPI app: routes, GitHub-shaped errors, fault injection and rate-limit headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.sandbox import routes_ci, routes_issues, routes_meta, routes_pulls, routes_repos
from bot.sandbox.core import Exchange
from bot.sandbox.github import SandboxGitHub
from bot.sandbox.http import answer, error_answer
from bot.sandbox.state import ApiError


def create_app(github: SandboxGitHub) -> FastAPI:
    """Build the HTTP face of `github`."""
    app = FastAPI(title="mlbot sandbox (a local GitHub stand-in)", docs_url="/_sandbox/docs",
                  openapi_url="/_sandbox/openapi.json", redoc_url=None)
    app.state.github = github
    for module in (routes_repos, routes_pulls, routes_issues, routes_ci, routes_meta):
        app.include_router(module.router)

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> Response:
        return error_answer(error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> Response:
        message = "Not Found" if error.status_code == 404 else str(error.detail)
        return error_answer(ApiError(error.status_code, message))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> Response:
        return error_answer(ApiError(422, f"Invalid request: {error.errors()[0].get('msg', 'bad value')}"))

    @app.middleware("http")
    async def faults_and_headers(request: Request,
                                 call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith("/_sandbox"):
            fault = github.faults.take(request.method, request.url.path)
            if fault is not None:
                if fault.latency_ms:
                    await asyncio.sleep(fault.latency_ms / 1000)
                if fault.status is not None:
                    if fault.after:  # GitHub did it; only the answer is lost
                        done = await call_next(request)
                        async for _ in done.body_iterator:  # type: ignore[attr-defined]
                            pass
                    status, body, headers = fault.answer()
                    if fault.secondary_rate_limit:
                        headers.update(_rate_headers(remaining=4999))
                    return answer(body, status, headers)
        response = await call_next(request)
        if github.exchanges is not None and not request.url.path.startswith("/_sandbox"):
            response = await _recorded(github.exchanges, request, response)
        response.headers.update(_rate_headers())
        response.headers["X-GitHub-Request-Id"] = f"SBX:{time.monotonic_ns():x}"
        return response

    return app


async def _recorded(log: list[Exchange], request: Request, response: Response) -> Response:
    """Log the answer's body, and hand back an equivalent response (the original is consumed)."""
    chunks = [chunk async for chunk in response.body_iterator]  # type: ignore[attr-defined]
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    log.append(Exchange(request.method, request.url.path, request.url.query, response.status_code, body))
    return Response(body, response.status_code, headers=dict(response.headers))


def _rate_headers(remaining: int = 4999) -> dict[str, str]:
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600), "X-RateLimit-Used": str(5000 - remaining),
            "X-RateLimit-Resource": "core"}
