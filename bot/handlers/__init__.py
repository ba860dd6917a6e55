"""Handlers: each module owns a `Router`; `build_router` composes them in one expression."""

from __future__ import annotations

from bot.handlers.routing import ANY_ACTION, Handler, Router

__all__ = ["ANY_ACTION", "Handler", "Router", "build_router"]


def build_router() -> Router:
    """The router the service runs: every handler module's routes, composed."""
    from bot.handlers import basic, chatops, lifecycle, promotion, reporting, watch

    return Router.composed(basic.router, lifecycle.router, reporting.router, promotion.router, chatops.router,
                           watch.router)
