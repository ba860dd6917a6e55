"""Authorization, trust and review facts as tables."""

from __future__ import annotations

import pytest

from bot.core.authz import Actor, Approval, authorize, decide_trust, review_facts
from bot.ports import Permission, Review

REPO = "acme/models"


def actor(login: str, permission: Permission, *, author: str = "alice", fork: bool = False,
          promoters: tuple[str, ...] = ()) -> Actor:
    return Actor(REPO, login, permission, author, fork, promoters)


@pytest.mark.parametrize(
    ("verb", "who", "allowed"),
    [
        ("help", actor("stranger", "none"), True),
        ("report", actor("stranger", "none", fork=True), True),
        ("gates", actor("reader", "read"), True),
        ("retrain", actor("bob", "write"), True),
        ("retrain", actor("bob", "admin", fork=True), True),
        ("retrain", actor("alice", "read"), True),  # author of a same-repo PR
        ("retrain", actor("Alice", "read"), True),  # logins are case-insensitive
        ("retrain", actor("alice", "read", fork=True), False),
        ("retrain", actor("carol", "triage"), False),
        ("ok-to-retrain", actor("bob", "write"), True),
        ("ok-to-retrain", actor("bob", "maintain"), True),
        ("ok-to-retrain", actor("alice", "read"), False),  # the author cannot approve herself
        ("ok-to-retrain", actor("carol", "triage"), False),
        ("promote", actor("bob", "write"), False),
        ("promote", actor("bob", "maintain"), True),
        ("promote", actor("root", "admin"), True),
        ("promote", actor("bob", "write", promoters=("BOB",)), True),
        ("promote", actor("bob", "none", promoters=("bob",)), True),
        ("rollback", actor("bob", "write", promoters=("carol",)), False),
        ("rollback", actor("dave", "maintain"), True),
    ],
)
def test_who_may_run_what(verb: str, who: Actor, allowed: bool) -> None:
    decision = authorize(verb, who)
    assert decision.allowed is allowed
    assert decision.reason.endswith(".")


@pytest.mark.parametrize(
    ("verb", "who", "reason"),
    [
        ("promote", actor("bob", "write"),
         "/promote needs maintain or admin permission on acme/models (you have write); ask a maintainer "
         "or add yourself to commands.promoters in mlbot.yaml."),
        ("retrain", actor("alice", "read", fork=True),
         "/retrain needs write permission on acme/models, or the author of a same-repository pull request "
         "(this pull request comes from a fork); ask someone with write access to comment /ok-to-retrain "
         "or /retrain."),
        ("ok-to-retrain", actor("carol", "triage"),
         "/ok-to-retrain needs write permission on acme/models (you have triage); ask a maintainer to "
         "review the change and comment it."),
        ("promote", actor("bob", "none", promoters=("bob",)), "@bob is listed in commands.promoters."),
    ],
)
def test_decisions_explain_themselves(verb: str, who: Actor, reason: str) -> None:
    assert authorize(verb, who).reason == reason


HEAD = "b" * 40
OLD = "a" * 40


@pytest.mark.parametrize(
    ("author_permission", "fork", "approvals", "trusted", "approver"),
    [
        ("write", False, [], True, None),
        ("admin", False, [], True, None),
        ("write", True, [], False, None),  # a fork is never trusted by itself
        ("read", False, [], False, None),
        ("none", True, [Approval(HEAD, "bob", "write")], True, "bob"),
        ("none", True, [Approval(OLD, "bob", "write")], False, None),  # expired with the push
        ("none", True, [Approval(OLD, "bob"), Approval(HEAD, "carol", "maintain")], True, "carol"),
        ("read", False, [Approval(HEAD, "eve", "read")], False, None),  # approver lacks write
    ],
)
def test_trust(author_permission: Permission, fork: bool, approvals: list[Approval], trusted: bool,
               approver: str | None) -> None:
    decision = decide_trust(repo=REPO, head_sha=HEAD, author="alice", author_permission=author_permission,
                            from_fork=fork, approvals=approvals)
    assert (decision.trusted, decision.approved_by) == (trusted, approver)


def test_untrusted_reason_names_the_sha_and_the_expired_approval() -> None:
    decision = decide_trust(repo=REPO, head_sha=HEAD, author="alice", author_permission="read",
                            from_fork=True, approvals=[Approval(OLD, "bob")])
    assert decision.reason == (
        "This pull request comes from a fork, so I don't train it until someone with write access reviews "
        "the code and comments /ok-to-retrain on bbbbbbb. An earlier /ok-to-retrain was for an older commit "
        "and expired with the new push.")


@pytest.mark.parametrize(
    ("reviews", "head_sha", "approvers", "blockers"),
    [
        ([], None, (), ()),
        ([Review("bob", "APPROVED")], None, ("bob",), ()),
        ([Review("alice", "APPROVED")], None, (), ()),  # no self-approval
        ([Review("bob", "APPROVED"), Review("bob", "CHANGES_REQUESTED")], None, (), ("bob",)),
        ([Review("bob", "CHANGES_REQUESTED"), Review("bob", "APPROVED")], None, ("bob",), ()),
        ([Review("bob", "APPROVED"), Review("bob", "COMMENTED")], None, ("bob",), ()),
        ([Review("bob", "APPROVED"), Review("bob", "DISMISSED")], None, (), ()),
        ([Review("bob", "approved"), Review("Carol", "APPROVED")], None, ("bob", "Carol"), ()),
        ([Review("bob", "APPROVED", OLD), Review("carol", "APPROVED", HEAD)], HEAD, ("carol",), ()),
    ],
)
def test_review_facts(reviews: list[Review], head_sha: str | None, approvers: tuple[str, ...],
                      blockers: tuple[str, ...]) -> None:
    facts = review_facts(reviews, author="alice", head_sha=head_sha)
    assert (facts.approvers, facts.changes_requested_by) == (approvers, blockers)
    assert facts.approvals == len(approvers)


def test_author_approval_counts_when_not_excluded() -> None:
    assert review_facts([Review("alice", "APPROVED")], author="alice", exclude_author=False).approvals == 1
