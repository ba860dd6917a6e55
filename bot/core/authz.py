"""Who may run which command, whether a pull request may be trained, and who approved it.

Pure rules over facts the handler gathered live (collaborator permission at execution time, the
pull request, `/ok-to-retrain` comments, reviews). Every decision carries a sentence for the user.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.commands import COMMANDS_AT, Place
from bot.core.types import Permission, Review

RANK: dict[str, int] = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}


def at_least(permission: str, needed: Permission) -> bool:
    """Return whether `permission` is `needed` or higher (unknown values count as none)."""
    return RANK.get(permission, 0) >= RANK[needed]


def same_login(a: str, b: str) -> bool:
    """GitHub logins are case-insensitive."""
    return a.casefold() == b.casefold()


@dataclass(frozen=True)
class Decision:
    """Allowed or not, and the sentence that explains it."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class Actor:
    """The commenter and the pull request they commented on, as seen right now."""

    repo: str
    login: str
    permission: Permission
    pr_author: str
    pr_from_fork: bool
    promoters: tuple[str, ...] = ()


def authorize(verb: str, actor: Actor, *, place: Place = "pull") -> Decision:
    """Decide whether `actor` may run `/verb` on this pull request (or in the watch issue)."""
    access = COMMANDS_AT[place][verb].access
    who, repo, has = f"@{actor.login}", actor.repo, actor.permission
    if access == "anyone":
        return Decision(True, f"/{verb} is open to everyone.")
    if access == "writer_or_author":
        if at_least(has, "write"):
            return Decision(True, f"{who} has {has} permission on {repo}.")
        if same_login(actor.login, actor.pr_author) and not actor.pr_from_fork:
            return Decision(True, f"{who} is the author of this same-repository pull request.")
        why = ("this pull request comes from a fork" if same_login(actor.login, actor.pr_author)
               else f"you have {has}")
        return Decision(False, f"/{verb} needs write permission on {repo}, or the author of a "
                        f"same-repository pull request ({why}); ask someone with write access to "
                        "comment /ok-to-retrain or /retrain.")
    if access == "writer":
        if at_least(has, "write"):
            return Decision(True, f"{who} has {has} permission on {repo}.")
        return Decision(False, f"/{verb} needs write permission on {repo} (you have {has}); "
                        "ask a maintainer to review the change and comment it.")
    if at_least(has, "maintain"):
        return Decision(True, f"{who} has {has} permission on {repo}.")
    if any(same_login(actor.login, p) for p in actor.promoters):
        return Decision(True, f"{who} is listed in commands.promoters.")
    return Decision(False, f"/{verb} needs maintain or admin permission on {repo} (you have {has}); "
                    "ask a maintainer or add yourself to commands.promoters in mlbot.yaml.")


# --- trust: may this pull request's code be trained? ------------------------------------------


@dataclass(frozen=True)
class Approval:
    """An `/ok-to-retrain` comment: who wrote it, their permission then, and the head sha it saw."""

    sha: str
    approver: str
    permission: Permission = "write"


@dataclass(frozen=True)
class TrustDecision:
    """Whether to train `sha`; `approved_by` names the writer whose /ok-to-retrain counted."""

    trusted: bool
    reason: str
    approved_by: str | None = None


def decide_trust(
    *, repo: str, head_sha: str, author: str, author_permission: Permission, from_fork: bool,
    approvals: Iterable[Approval] = (),
) -> TrustDecision:
    """Trust a same-repository PR by a writer; anything else needs /ok-to-retrain for this sha."""
    if not from_fork and at_least(author_permission, "write"):
        return TrustDecision(True, f"@{author} has {author_permission} permission on {repo}.")
    for approval in approvals:
        if approval.sha == head_sha and at_least(approval.permission, "write"):
            return TrustDecision(True, f"@{approval.approver} approved training of {head_sha[:7]} "
                                 "with /ok-to-retrain.", approval.approver)
    why = "comes from a fork" if from_fork else f"is by @{author}, who has {author_permission} permission"
    stale = any(a.sha != head_sha for a in approvals)
    then = (" An earlier /ok-to-retrain was for an older commit and expired with the new push."
            if stale else "")
    return TrustDecision(False, f"This pull request {why}, so I don't train it until someone with "
                         f"write access reviews the code and comments /ok-to-retrain on "
                         f"{head_sha[:7]}.{then}")


# --- review gate facts --------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFacts:
    """Who currently approves and who currently requests changes (author excluded if asked)."""

    approvers: tuple[str, ...]
    changes_requested_by: tuple[str, ...]

    @property
    def approvals(self) -> int:
        return len(self.approvers)


DECISIVE = {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}


def review_facts(
    reviews: Iterable[Review], *, author: str, exclude_author: bool = True, head_sha: str | None = None
) -> ReviewFacts:
    """Reduce reviews (oldest first) to each reviewer's latest decisive state.

    COMMENTED reviews do not change a reviewer's state (as on GitHub); DISMISSED clears it. With
    `head_sha`, only approvals of that commit count.
    """
    latest: dict[str, tuple[str, Review]] = {}
    for review in reviews:
        state = review.state.upper()
        if state in DECISIVE:
            latest[review.author.casefold()] = (review.author, review)
    approvers: list[str] = []
    blockers: list[str] = []
    for login, review in latest.values():
        if exclude_author and same_login(login, author):
            continue
        state = review.state.upper()
        if state == "APPROVED" and (head_sha is None or review.commit_sha in (None, head_sha)):
            approvers.append(login)
        elif state == "CHANGES_REQUESTED":
            blockers.append(login)
    return ReviewFacts(tuple(approvers), tuple(blockers))


# --- dispatched workflow runs -------------------------------------------------------------------


def run_nonce(key: str, repo: str, sha: str, pr: int | None) -> str:
    """The nonce the bot gives a training it dispatches: an HMAC of what the run is for.

    It travels as a dispatch input into the run's name; a completed `workflow_run` counts only when
    its name carries the nonce of the repository, commit and pull request it claims.
    """
    message = f"{repo.lower()}|{sha}|{pr if pr is not None else ''}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()[:32]


def nonce_matches(keys: Iterable[str], nonce: str, repo: str, sha: str, pr: int | None) -> bool:
    """Whether `nonce` is one of ours for this run, under any current signing key."""
    found = False
    for key in keys:  # no early exit: the time taken does not tell which key matched
        found |= hmac.compare_digest(run_nonce(key, repo, sha, pr), nonce)
    return found
