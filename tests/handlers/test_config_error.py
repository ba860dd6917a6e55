"""A broken base-branch policy speaks up: the failed check and ONE pull request comment per base sha."""

from __future__ import annotations

from bot.core.events import PullRequestEvent
from bot.handlers import lifecycle
from tests.handlers.fakes import BASE_SHA, REPO, FakeForge, context, pull

TYPO = "gates:\n  - name: x\n    metric: acuracy\n    min: 0.5\n"


def opened(base_sha: str = BASE_SHA) -> PullRequestEvent:
    return PullRequestEvent("pull_request", "opened", REPO, 1, "alice", "d-1", pull=pull(base_sha=base_sha))


def config_errors(forge: FakeForge) -> list[str]:
    return [b for b in forge.bodies() if b.startswith("<!-- mlbot:config-error ")]


def test_a_policy_typo_on_the_base_branch_is_said_once_in_a_comment_with_the_file_key_and_fix():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = TYPO
    ctx = context(forge)
    lifecycle.train_pull_request(opened(), ctx)
    lifecycle.train_pull_request(opened(), ctx)  # a push to the pull request: the same base, no second comment

    [comment] = config_errors(forge)
    first, _, rest = comment.partition("\n")
    assert first == f"<!-- mlbot:config-error sha={BASE_SHA} -->"
    assert rest.startswith("**mlbot trained nothing**: `mlbot.yaml` or a policy on `main` is invalid.")
    assert "policies/gates.yaml" in rest and "acuracy" in rest
    assert rest.endswith("Fix it on `main` (mlbot judges every pull request by the base branch's rules), "
                         "then push to this pull request again.")
    assert forge.check("mlbot/train").conclusion == "failure" and ctx.queue.jobs == []


def test_a_new_base_sha_that_is_still_broken_is_said_again():
    forge = FakeForge()
    forge.files["policies/gates.yaml"] = TYPO
    ctx = context(forge)
    lifecycle.train_pull_request(opened(), ctx)
    lifecycle.train_pull_request(opened("c" * 40), ctx)
    assert len(config_errors(forge)) == 2


def test_a_valid_base_branch_gets_no_config_comment():
    forge = FakeForge()
    lifecycle.train_pull_request(opened(), context(forge))
    assert config_errors(forge) == []
