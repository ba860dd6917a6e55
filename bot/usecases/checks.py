"""The bot's two check runs, `mlbot/train` and `mlbot/gates`: created once per commit, then updated by id.

A check's id is kept from its creation (in the job that needs it, and in the process memo), so an
update is one call; only a check this process never saw is looked up first.
"""

from __future__ import annotations

from bot.core.types import CheckConclusion, CheckOutput, CheckRun, CheckStatus
from bot.ports import Context
from bot.usecases.memo import memo_of

TRAIN_CHECK = "mlbot/train"
GATES_CHECK = "mlbot/gates"
SUMMARY_LIMIT = 65_000  # GitHub refuses check outputs over 65,535 characters


def _key(repo: str, sha: str, name: str) -> tuple[str, str, str, str]:
    return ("check", repo.lower(), sha, name)


def find_check(ctx: Context, repo: str, sha: str, name: str) -> CheckRun | None:
    """The newest check run called `name` on `sha`, if any (one listing)."""
    runs = [r for r in ctx.forge.list_check_runs(repo, sha) if r.name == name]
    return max(runs, key=lambda r: r.id) if runs else None


def set_check(
    ctx: Context, repo: str, sha: str, name: str, *, status: CheckStatus,
    conclusion: CheckConclusion | None = None, title: str, summary: str, text: str | None = None,
    details_url: str | None = None, check_id: int | None = None, create: bool = False,
) -> int:
    """Update the check (by `check_id`, remembered or found), or create it; return its id.

    `create=True` says the caller knows there is none yet for this attempt (a new training):
    no lookup, one call.
    """
    output = CheckOutput(title=title, summary=summary[:SUMMARY_LIMIT],
                         text=text[:SUMMARY_LIMIT] if text else None)
    memo = memo_of(ctx)
    known = check_id or (None if create else memo.get(_key(repo, sha, name)))
    if known is None and not create:
        existing = find_check(ctx, repo, sha, name)
        known = existing.id if existing else None
    if known is None:
        made = ctx.forge.create_check_run(repo, sha, name, status=status, conclusion=conclusion, output=output,
                                          details_url=details_url)
        known = made.id
    else:
        ctx.forge.update_check_run(repo, known, status=status, conclusion=conclusion, output=output,
                                   details_url=details_url)
    memo.put(_key(repo, sha, name), known)
    return known
