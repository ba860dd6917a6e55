"""The router: per (event, action), composed in one place, loop-safe, unhandled events ignored."""

from __future__ import annotations

from bot.core.events import Event
from bot.handlers import build_router
from bot.handlers.routing import Router
from bot.ports import Context
from tests.service.conftest import RecordingForge, service_context


class NoQueue:
    def enqueue(self, kind, payload, *, key=None):
        raise AssertionError("these handlers queue nothing")


def context(forge=None) -> Context:
    return service_context(forge or RecordingForge(), NoQueue())


def event(name, action="", sender="alice") -> Event:
    return Event(name, action, "acme/churn", 1, sender)


def test_specific_action_and_any_action_handlers_run_in_order():
    router, calls = Router(), []
    router.register("pull_request", "opened", lambda e, c: calls.append("opened"))
    router.register("pull_request", handler=lambda e, c: calls.append("any"))
    router.register("pull_request", "closed", lambda e, c: calls.append("closed"))
    assert router.dispatch(event("pull_request", "opened"), context()) == 2
    assert calls == ["opened", "any"]
    assert router.events() == frozenset({"pull_request"})


def test_unhandled_events_are_ignored_without_error():
    assert Router().dispatch(event("star", "created"), context()) == 0


def test_the_bots_own_comments_and_pull_request_events_are_ignored_but_not_its_workflow_runs():
    router, calls = Router(), []
    for name in ("issue_comment", "pull_request", "workflow_run"):
        router.register(name, handler=lambda e, c: calls.append(e.name))
    for name in ("issue_comment", "pull_request", "workflow_run"):
        router.dispatch(event(name, "created", sender="MLBot[bot]"), context())
    assert calls == ["workflow_run"]


def test_include_composes_module_routers():
    first, second, calls = Router(), Router(), []
    first.register("ping", handler=lambda e, c: calls.append(1))
    second.register("ping", handler=lambda e, c: calls.append(2))
    composed = Router.composed(first, second)
    composed.dispatch(event("ping"), context())
    assert calls == [1, 2]


def test_the_service_router_composes_pings_with_the_lifecycle_once():
    router = build_router()
    github = {"ping", "pull_request", "issue_comment", "workflow_run", "pull_request_review"}
    assert github <= router.webhook_events()
    internal = {"mlbot.train", "mlbot.trained", "mlbot.promote", "mlbot.command", "mlbot.watch", "mlbot.refresh"}
    assert router.events() - router.webhook_events() == internal
    opened = router.handlers_for(Event("pull_request", "opened", "acme/churn", 1, "alice"))
    assert [h.__name__ for h in opened] == ["train_pull_request"]  # the lifecycle owns pull requests
    assert [h.__name__ for h in router.handlers_for(Event("ping", "", "", None, ""))] == ["log_ping"]
