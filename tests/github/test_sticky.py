"""The sticky report comment: found among the bot's own comments only, across pages, edited in place."""

from __future__ import annotations

from collections.abc import Callable

from bot.adapters.github.client import GitHubForge
from bot.sandbox import SandboxServer
from tests.github.conftest import BOT, MARKER, REPO, inject


def bot_comments(sandbox: SandboxServer, number: int = 1) -> list[str]:
    return [c.body for c in sandbox.github.comments(REPO, number) if c.author == BOT]


def test_upsert_creates_then_edits_one_comment(sandbox: SandboxServer, forge: GitHubForge) -> None:
    first = forge.upsert_sticky_comment(REPO, 1, MARKER, "accuracy 0.91")
    second = forge.upsert_sticky_comment(REPO, 1, MARKER, f"{MARKER}\naccuracy 0.93")
    assert second.id == first.id
    assert (second.author, second.body) == (BOT, f"{MARKER}\naccuracy 0.93")
    assert bot_comments(sandbox) == [f"{MARKER}\naccuracy 0.93"]


def test_upsert_survives_502s_and_a_secondary_rate_limit(sandbox: SandboxServer, forge: GitHubForge) -> None:
    forge.create_comment(REPO, 1, "an unrelated bot reply")
    listing = inject(sandbox, method="GET", path_regex=r"/issues/1/comments$", status=403,
                     secondary_rate_limit=True, retry_after=0, times=1)
    posting = inject(sandbox, method="POST", path_regex=r"/issues/1/comments$", status=502, times=2)
    created = forge.upsert_sticky_comment(REPO, 1, MARKER, "first report")
    editing = inject(sandbox, method="PATCH", path_regex=rf"/issues/comments/{created.id}$", status=502,
                     times=2)
    limited = inject(sandbox, method="GET", path_regex=r"/issues/1/comments$", status=429, retry_after=0,
                     times=1)
    forge.upsert_sticky_comment(REPO, 1, MARKER, "second report")
    assert (listing.hits, posting.hits, editing.hits, limited.hits) == (1, 2, 2, 1)
    assert bot_comments(sandbox) == ["an unrelated bot reply", f"{MARKER}\nsecond report"]


def test_the_bots_comment_on_page_one_of_250_is_edited_not_duplicated(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    mine = sandbox.github.comment(REPO, 1, f"{MARKER}\nold report", BOT)
    for i in range(249):
        sandbox.github.comment(REPO, 1, f"comment {i}", "alice")
    updated = forge.upsert_sticky_comment(REPO, 1, MARKER, "new report")
    assert updated.id == mine
    assert len(sandbox.github.comments(REPO, 1)) == 250
    assert bot_comments(sandbox) == [f"{MARKER}\nnew report"]


def test_the_bots_comment_on_the_last_page_is_found(sandbox: SandboxServer, forge: GitHubForge) -> None:
    for i in range(230):
        sandbox.github.comment(REPO, 1, f"comment {i}", "alice")
    mine = sandbox.github.comment(REPO, 1, f"{MARKER}\nold report", BOT)
    assert forge.upsert_sticky_comment(REPO, 1, MARKER, "new report").id == mine
    assert len(forge.list_comments(REPO, 1)) == 231
    assert bot_comments(sandbox) == [f"{MARKER}\nnew report"]


def test_a_marker_in_someone_elses_comment_is_never_edited(
    sandbox: SandboxServer, make_forge: Callable[..., GitHubForge]
) -> None:
    # Mona (maintain) could edit other people's comments; the bot speaking as her still must not.
    forge = make_forge(token=sandbox.github.token_for("mona"))
    forged = sandbox.github.comment(REPO, 1, f"{MARKER}\nfake: all gates pass", "alice")
    created = forge.upsert_sticky_comment(REPO, 1, MARKER, "real report")
    assert created.id != forged and created.author == "mona"
    bodies = {c.id: c.body for c in sandbox.github.comments(REPO, 1)}
    assert bodies == {forged: f"{MARKER}\nfake: all gates pass", created.id: f"{MARKER}\nreal report"}


def test_a_duplicate_report_made_by_a_racing_worker_is_folded_into_the_oldest(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    older = forge.create_comment(REPO, 1, f"{MARKER}\nreport from worker one")
    forge.create_comment(REPO, 1, f"{MARKER}\nreport from worker two")  # two workers raced before the lock
    kept = forge.upsert_sticky_comment(REPO, 1, MARKER, "the current report")
    assert kept.id == older.id
    assert bot_comments(sandbox) == [f"{MARKER}\nthe current report"]
