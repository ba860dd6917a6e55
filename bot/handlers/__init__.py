"""Handlers: each module owns a `Router`; `build_router` composes them in one place."""

from __future__ import annotations

from bot.handlers.routing import ANY_ACTION, Handler, Router

__all__ = ["ANY_ACTION", "Handler", "Router", "build_router", "minimal_router"]


def build_router() -> Router:
    """The router the service runs: every handler module's routes, composed."""
    from bot.handlers import basic, chatops, lifecycle, promotion, reporting

    router = Router()
    for module in (basic, lifecycle, reporting, promotion, chatops):
        router.include(module.router)
    return router


def minimal_router() -> Router:
    """Pings and a neutral `mlbot/train` check on opened pull requests: the service without the lifecycle."""
    from bot.handlers import basic

    router = Router()
    router.include(basic.minimal)
    return router
