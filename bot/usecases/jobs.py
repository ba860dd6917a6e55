"""The jobs the bot queues for itself: typed here, plain JSON only at the queue boundary.

Their kinds start with `mlbot.` (no GitHub event name has a dot), so the edge never accepts one
from a webhook, and their dedupe keys start with `job:`, apart from GitHub's delivery ids.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

from bot.core.types import TrainingJob, TrainingOutcome
from bot.ports import JobQueue

KEY_PREFIX = "job:"


class Job(Protocol):
    kind: ClassVar[str]

    def payload(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class TrainRequested:
    """Run `job` on the local runner; `check_id` is its `mlbot/train` check, created before queueing."""

    kind: ClassVar[str] = "mlbot.train"
    job: TrainingJob
    check_id: int | None = None
    key: str = ""  # the attempt's dedupe key; its outcome is queued under `key:done:<run id or failed>`

    def payload(self) -> dict[str, Any]:
        return {"job": asdict(self.job), "check_id": self.check_id, "key": self.key}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TrainRequested:
        return cls(TrainingJob(**payload["job"]), payload.get("check_id"), str(payload.get("key") or ""))


@dataclass(frozen=True)
class TrainingFinished:
    """A training ran here (or in Actions) and ended with `outcome`."""

    kind: ClassVar[str] = "mlbot.trained"
    job: TrainingJob
    outcome: TrainingOutcome
    check_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {"job": asdict(self.job), "outcome": asdict(self.outcome), "check_id": self.check_id}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TrainingFinished:
        return cls(TrainingJob(**payload["job"]), TrainingOutcome(**payload["outcome"]), payload.get("check_id"))


@dataclass(frozen=True)
class PromotionRequested:
    """Decide whether merged pull request `pr` promotes: its head run, or `run_id` (a merge retrained)."""

    kind: ClassVar[str] = "mlbot.promote"
    repo: str
    pr: int
    sha: str
    by: str
    base_sha: str
    run_id: str | None = None

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> PromotionRequested:
        return cls(repo=str(payload["repo"]), pr=int(payload["pr"]), sha=str(payload["sha"]),
                   by=str(payload.get("by") or ""), base_sha=str(payload.get("base_sha") or ""),
                   run_id=payload.get("run_id") or None)


@dataclass(frozen=True)
class CommandRequested:
    """The commands of one comment, run once per comment id whatever delivery brought them."""

    kind: ClassVar[str] = "mlbot.command"
    repo: str
    number: int
    is_pull_request: bool
    comment_id: int
    body: str
    author: str
    html_url: str = ""

    def payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CommandRequested:
        return cls(**payload)


def promotion_key(repo: str, number: int, merge_sha: str) -> str:
    """One promotion decision per merge, whoever asks (the merge webhook, or the reconciler)."""
    return f"promote:{repo.lower()}:{number}:{merge_sha}"


def enqueue(queue: JobQueue, job: Job, key: str) -> bool:
    """Queue `job` once per `key` (namespaced apart from delivery ids); False when already queued."""
    return queue.enqueue(job.kind, job.payload(), key=KEY_PREFIX + key)
