"""The reconciler: compare what GitHub says with what the bot did, and queue what is missing.

GitHub does not redeliver a failed webhook by itself (only when someone asks), so a merge that
arrived while the bot was down would otherwise never be promoted. Each round looks at the recently
closed and the open pull requests of every repository the bot works for and queues, under the very
keys the webhook handlers use, what no webhook brought: a merge the bot never decided on (merged
after the bot first saw the repository), an open head without an `mlbot/train` check. Keys make
a round idempotent: what a webhook already queued is never queued twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.ports import Context
from bot.usecases import jobs
from bot.usecases.checks import TRAIN_CHECK
from bot.usecases.training import start_training

log = logging.getLogger("mlbot.reconcile")


@dataclass(frozen=True)
class Reconciled:
    """What one round queued for one repository."""

    promotions: int = 0
    trainings: int = 0


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() if iso else 0.0


def reconcile(ctx: Context, repo: str, since: float) -> Reconciled:
    """Queue the promotions and trainings of `repo` that no webhook brought (merges after `since`)."""
    promotions = trainings = 0
    for pull in ctx.forge.recent_pulls(repo, "closed"):
        if not pull.merged or _epoch(pull.merged_at) < since:
            continue
        request = jobs.PromotionRequested(repo=pull.repo, pr=pull.number, sha=pull.head_sha, by=pull.author,
                                          base_sha=pull.base_sha)
        key = jobs.promotion_key(pull.repo, pull.number, pull.merge_commit_sha or pull.head_sha)
        if not ctx.queue.known(jobs.KEY_PREFIX + key) and jobs.enqueue(ctx.queue, request, key):
            log.warning("%s#%s merged without a webhook reaching me: deciding its promotion now", repo, pull.number)
            promotions += 1
    for pull in ctx.forge.recent_pulls(repo, "open"):
        if pull.draft or any(r.name == TRAIN_CHECK for r in ctx.forge.list_check_runs(repo, pull.head_sha)):
            continue
        log.warning("%s#%s head %s has no %s check: handling it now", repo, pull.number, pull.head_sha[:7],
                    TRAIN_CHECK)
        start_training(ctx, pull, trigger="pull_request")
        trainings += 1
    return Reconciled(promotions, trainings)
