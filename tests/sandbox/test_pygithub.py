"""PyGithub against the sandbox: every call mlbot makes, through the real client."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from github import Github, GithubException, UnknownObjectException

from bot.sandbox import SandboxServer
from tests.sandbox.conftest import REPO


def _open(sandbox: SandboxServer, author: str = "alice") -> tuple[int, str]:
    sha = sandbox.github.push_commit(REPO, "feature", {"src/train.py": "print('better')\n"}, "Better", author)
    return sandbox.github.open_pull(REPO, "feature", "main", "Better model", author), sha


def test_repository_and_contents(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    repo = client().get_repo(REPO)
    assert repo.default_branch == "main"
    content = repo.get_contents("mlbot.yaml", ref="main")
    assert content.decoded_content == b"model: churn\ntask: classification\n"
    listing = repo.get_contents("data", ref="main")
    assert [c.path for c in listing] == ["data/train.csv"]
    with pytest.raises(UnknownObjectException):
        repo.get_contents("missing.txt", ref="main")


def test_files_over_a_megabyte_come_as_blobs(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    big = bytes(range(256)) * 6000  # 1.5 MB
    sandbox.github.push_commit(REPO, "main", {"data/big.bin": big}, "Big data")
    repo = client().get_repo(REPO)
    found = repo.get_contents("data/big.bin", ref="main")
    assert (found.encoding, found.size) == ("none", len(big))
    assert base64.b64decode(repo.get_git_blob(found.sha).content) == big


def test_pull_files_comments_and_reactions(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    number, sha = _open(sandbox)
    repo = client().get_repo(REPO)
    pull = repo.get_pull(number)
    assert (pull.head.sha, pull.head.ref, pull.base.ref, pull.user.login) == (sha, "feature", "main", "alice")
    assert [f.filename for f in pull.get_files()] == ["src/train.py"]
    comment = pull.as_issue().create_comment("<!-- mlbot:report model=churn -->\nfirst")
    comment.edit("<!-- mlbot:report model=churn -->\nsecond")
    comment.create_reaction("eyes")
    again = repo.get_issue(number).get_comment(comment.id)
    assert again.body.endswith("second") and again.user.login == "mlbot[bot]"
    assert [c.content for c in sandbox.github.store.comment(REPO, comment.id).reactions] == ["eyes"]


def test_comment_pagination_across_three_pages(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    number, _ = _open(sandbox)
    for i in range(250):
        sandbox.github.comment(REPO, number, f"comment {i}", "bob")
    g = client()
    g.per_page = 100
    comments = g.get_repo(REPO).get_issue(number).get_comments()
    bodies = [c.body for c in comments]
    assert bodies == [f"comment {i}" for i in range(250)]
    assert comments.totalCount == 250


def test_checks_statuses_permissions_reviews(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    number, sha = _open(sandbox)
    repo = client().get_repo(REPO)
    run = repo.create_check_run(name="mlbot/train", head_sha=sha, status="in_progress")
    run.edit(conclusion="neutral", output={"title": "waiting", "summary": "needs /ok-to-retrain"})
    assert [(r.name, r.status, r.conclusion) for r in repo.get_commit(sha).get_check_runs()] == [
        ("mlbot/train", "completed", "neutral")]
    repo.get_commit(sha).create_status("success", context="tests", description="ok")
    assert [(s.context, s.state) for s in repo.get_commit(sha).get_statuses()] == [("tests", "success")]
    assert repo.get_commit(sha).get_combined_status().state == "success"
    assert repo.get_collaborator_permission("mona") == "write"  # legacy value
    assert repo.get_collaborator_role_name("mona") == "maintain"
    sandbox.github.token_for("stranger")  # a GitHub user, but no collaborator
    assert repo.get_collaborator_permission("stranger") == "none"
    with pytest.raises(UnknownObjectException):
        repo.get_collaborator_permission("nobody-at-all")
    client("mona").get_repo(REPO).get_pull(number).create_review(body="lgtm", event="APPROVE")
    assert [(r.user.login, r.state) for r in repo.get_pull(number).get_reviews()] == [("mona", "APPROVED")]
    with pytest.raises(GithubException) as refused:
        client("alice").get_repo(REPO).get_pull(number).create_review(event="APPROVE")
    assert refused.value.status == 422


def test_dispatch_merge_deploy_tag(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    number, sha = _open(sandbox)
    repo = client().get_repo(REPO)
    workflow = repo.get_workflow("mlbot-train.yml")
    inputs = {"sha": sha, "pr": str(number)}
    run = workflow.create_dispatch("main", inputs, throw=True, return_run_details=True)
    recorded = sandbox.github.dispatches(REPO)
    assert [r.id for r in recorded] == [run.id]
    assert recorded[0].inputs == inputs
    assert recorded[0].display_title == f"mlbot train {sha} (PR {number})"
    merged = client("mona").get_repo(REPO).get_pull(number).merge()
    assert merged.merged
    main = sandbox.github.branch_sha(REPO, "main")
    assert main == merged.sha and repo.get_commit(main).parents[1].sha == sha
    deployment = repo.create_deployment(ref="main", environment="production", description="v2",
                                        payload={"version": "2"}, required_contexts=[], auto_merge=False)
    deployment.create_status("success", description="promoted v2")
    assert [d.environment for d in repo.get_deployments()] == ["production"]
    assert [s.state for s in deployment.get_statuses()] == ["success"]
    tag = repo.create_git_tag("churn@v2", "promoted v2", main, "commit")
    repo.create_git_ref("refs/tags/churn@v2", tag.sha)
    assert sandbox.github.tags(REPO) == {"churn@v2": main}
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/tags/churn@v2", tag.sha)
    assert exists.value.status == 422


def test_auth_user_and_bad_token(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    assert client("alice").get_user().login == "alice"
    bad = Github(base_url=sandbox.api_url, auth=None, seconds_between_requests=0, seconds_between_writes=0)
    with pytest.raises(GithubException) as refused:
        bad.get_user().login  # noqa: B018 - the attribute access sends the request
    assert refused.value.status == 401
