"""At start a worker finishes interrupted promotions and lists the GitHub effects they still owe."""

from __future__ import annotations

from typing import Any

from bot.core.errors import Transient
from bot.handlers.routing import Router
from bot.ports import Context, PromotionIntent
from bot.service.worker import DeliveryProcessor

OWED = PromotionIntent(model="churn", seq=4, action="promote", alias="production", version="4", previous="3",
                       at="2026-12-06T01:00:00+00:00", by="alice", registry_done=True,
                       effects={"deployment": True, "comment": False})


class FakeTracker:
    def __init__(self, answer: list[PromotionIntent] | Exception) -> None:
        self.answer = answer
        self.asked: list[str | None] = []

    def recover(self, model: str | None = None) -> list[PromotionIntent]:
        self.asked.append(model)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def processor(tracker: FakeTracker) -> DeliveryProcessor:
    def context(queue: Any) -> Context:
        return Context(forge=None, queue=queue, bot_login="mlbot[bot]", tracker=tracker)  # type: ignore[arg-type]
    return DeliveryProcessor(Router(), None, context)  # type: ignore[arg-type]


def test_the_worker_recovers_every_model_and_reports_what_is_owed(caplog: Any) -> None:
    tracker = FakeTracker([OWED])
    assert processor(tracker).recover_registry() == [OWED]
    assert tracker.asked == [None]
    assert "the promote of churn v4 (ledger #4) still owes comment on GitHub" in caplog.text


def test_mlflow_down_at_start_does_not_stop_the_worker(caplog: Any) -> None:
    down = FakeTracker(Transient("MLflow at http://mlflow:5000 is unreachable", dependency="MLflow"))
    assert processor(down).recover_registry() == []
    assert "could not look for interrupted promotions: MLflow at http://mlflow:5000 is unreachable" in caplog.text
