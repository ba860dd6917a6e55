"""Fidelity: what the sandbox answers and emits validates against GitHub's official schemas.

REST answers are checked against the operation's response schema in `@octokit/openapi`
(api.github.com.json, nullable rewritten to JSON Schema), webhooks against `@octokit/webhooks-schemas`.
The flow is driven with PyGithub as mlbot drives GitHub; every answer the sandbox gave is validated.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from github import Auth, Github, GithubException, GithubIntegration

from bot.sandbox import SandboxServer
from bot.sandbox.core import Exchange
from tests.sandbox import schemas
from tests.sandbox.conftest import REPO

# GitHub still serves this legacy spelling of "list statuses for a ref" (PyGithub's Commit uses it).
# The description also keeps a deprecated `compare/{base}...{head}` spelling of `compare/{basehead}`.
ALIASES = {("get", re.compile(r"^/repos/[^/]+/[^/]+/statuses/[^/]+$")):
           "/repos/{owner}/{repo}/commits/{ref}/statuses",
           ("get", re.compile(r"^/repos/[^/]+/[^/]+/compare/[^/]+$")): "/repos/{owner}/{repo}/compare/{basehead}"}

MUST_COVER = {
    ("get", "/repos/{owner}/{repo}"), ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"), ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"), ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"), ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"),
    ("post", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run_id}"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("post", "/repos/{owner}/{repo}/deployments"), ("get", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("post", "/repos/{owner}/{repo}/git/tags"), ("post", "/repos/{owner}/{repo}/git/refs"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"), ("get", "/user"), ("get", "/app"),
    ("get", "/repos/{owner}/{repo}/git/blobs/{file_sha}"),
    ("get", "/repos/{owner}/{repo}/git/tags/{tag_sha}"),
    ("put", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/installation"), ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
}
MUST_EMIT = {("ping", None), ("pull_request", "opened"), ("pull_request", "synchronize"),
             ("pull_request", "reopened"), ("pull_request", "ready_for_review"),
             ("pull_request", "closed"), ("issue_comment", "created"), ("issue_comment", "edited"),
             ("workflow_run", "completed"), ("pull_request_review", "submitted")}


def _validate_exchange(exchange: Exchange) -> tuple[tuple[str, str], list[str]]:
    method = exchange.method.lower()
    template = schemas.operation_for(method, exchange.path)
    for (verb, pattern), alias in ALIASES.items():
        if verb == method and pattern.match(exchange.path):
            template = alias
    if template is None:
        return (method, exchange.path), [f"{method.upper()} {exchange.path}: not a GitHub REST operation"]
    validator = schemas.response_validator(template, method, exchange.status)
    if validator is None:
        return (method, template), ([] if not exchange.body else [f"{template}: body where none is declared"])
    issues = schemas.problems(validator, json.loads(exchange.body))
    return (method, template), [f"{method.upper()} {template} -> {exchange.status}: {i}" for i in issues]


def _drive_flow(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    """One pull request's life, as mlbot and its users drive GitHub."""
    gh = sandbox.github
    gh.ping(REPO)
    gh.push_commit(REPO, "better-model", {"src/train.py": "print('v2')\n"}, "Tune the forest", "alice")
    alice_repo = client("alice").get_repo(REPO)
    pull = alice_repo.create_pull(title="Tune the forest", body="More trees.", base="main",
                                  head="better-model")
    bot = client()
    repo = bot.get_repo(REPO)
    assert repo.get_contents("mlbot.yaml", ref="main").decoded_content.startswith(b"model:")
    assert len(repo.get_contents(".github/workflows", ref="main")) == 1
    blob_sha = repo.get_contents("data/train.csv", ref="main").sha
    assert repo.get_git_blob(blob_sha).size == len(b"a,label\n1,0\n2,1\n")
    with pytest.raises(GithubException):
        repo.get_contents("policies", ref="main")
    pr = repo.get_pull(pull.number)
    assert [f.filename for f in pr.get_files()] == ["src/train.py"]
    head = pr.head.sha
    check = repo.create_check_run(name="mlbot/train", head_sha=head, status="queued")
    check.edit(status="in_progress", details_url="http://127.0.0.1/mlflow")
    workflow = repo.get_workflow("mlbot-train.yml")
    assert workflow.create_dispatch("main", {"sha": head, "pr": str(pr.number)}, throw=True)
    run = workflow.create_dispatch("main", {"sha": head, "pr": str(pr.number)}, throw=True,
                                   return_run_details=True)
    repo.get_workflow_run(run.id)
    gh.complete_workflow_run(REPO, run.id, "success")
    report = pr.as_issue().create_comment("<!-- mlbot:report model=churn -->\n| metric | value |\n|---|---|")
    report.edit("<!-- mlbot:report model=churn -->\nupdated")
    repo.get_issue(pr.number).get_comment(report.id)
    assert [c.id for c in pr.get_issue_comments()] == [report.id]
    check.edit(conclusion="success", output={"title": "gates pass", "summary": "all good", "text": "details"})
    assert [c.name for c in repo.get_commit(head).get_check_runs()] == ["mlbot/train"]
    repo.get_commit(head).create_status("success", context="tests", description="unit tests")
    assert repo.get_commit(head).get_combined_status().state == "success"
    assert [s.context for s in repo.get_commit(head).get_statuses()] == ["tests"]
    gh.push_commit(REPO, "better-model", {"src/train.py": "print('v3')\n"}, "Even more trees", "alice")
    command = client("bob").get_repo(REPO).get_issue(pr.number).create_comment("/gates")
    repo.get_issue(pr.number).get_comment(command.id).create_reaction("eyes")
    assert repo.get_collaborator_role_name("bob") == "none"
    assert repo.get_collaborator_permission("mona") == "write"
    client("mona").get_repo(REPO).get_pull(pr.number).create_review(body="Looks right", event="APPROVE")
    assert [r.state for r in repo.get_pull(pr.number).get_reviews()] == ["APPROVED"]
    assert client("mona").get_repo(REPO).get_pull(pr.number).merge().merged
    main = repo.get_branch("main").commit.sha
    assert repo.compare(head, main).status == "ahead"
    deployment = repo.create_deployment(ref=main, environment="production", description="churn v2",
                                        payload={"model": "churn", "version": "2"}, required_contexts=[],
                                        auto_merge=False)
    deployment.create_status("success", description="promoted v2", environment_url="http://127.0.0.1/mlflow")
    assert [d.id for d in repo.get_deployments(environment="production")] == [deployment.id]
    tag = repo.create_git_tag("churn@v2", "churn v2 promoted", main, "commit")
    repo.create_git_ref("refs/tags/churn@v2", tag.sha)
    assert repo.get_git_ref("tags/churn@v2").object.sha == tag.sha
    assert repo.get_git_tag(tag.sha).object.sha == main
    assert client("alice").get_user().login == "alice"
    mona = client("mona").get_repo(REPO)
    created = mona.create_file("CHANGELOG.md", "Start a changelog", "v2\n")
    mona.update_file("CHANGELOG.md", "Note v2", "v2: more trees\n", created["content"].sha)
    assert repo.get_contents("CHANGELOG.md").decoded_content == b"v2: more trees\n"
    fork = gh.fork(REPO, "eve/churn")
    gh.push_commit(fork, "sneaky", {"src/train.py": "import os\n"}, "Sneaky", "eve")
    from_fork = client("eve").get_repo(REPO).create_pull(title="Innocent", body="", base="main",
                                                          head="eve:sneaky")
    assert repo.get_pull(from_fork.number).head.repo.full_name == fork
    gh.push_commit(fork, "wip", {"notes.md": "wip\n"}, "WIP", "eve")
    draft = gh.open_pull(REPO, "wip", "main", "Draft", "eve", from_fork=fork, draft=True)
    gh.ready_for_review(REPO, draft, "eve")
    gh.close_pull(REPO, from_fork.number, "mona")
    gh.reopen_pull(REPO, from_fork.number, "mona")


def _drive_app_auth(sandbox: SandboxServer) -> None:
    """A GitHub App: JWT -> app, installation, installation token -> API calls."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    auth = Auth.AppAuth(4242, pem)
    integration = GithubIntegration(auth=auth, base_url=sandbox.api_url)
    assert integration.get_app().slug == "mlbot"
    installation = integration.get_repo_installation(*REPO.split("/"))
    token = integration.get_access_token(installation.id)
    assert token.expires_at is not None
    as_app = Github(base_url=sandbox.api_url, auth=Auth.Token(token.token), seconds_between_requests=0,
                    seconds_between_writes=0, retry=None)
    assert as_app.get_repo(REPO).default_branch == "main"
    with pytest.raises(GithubException) as refused:
        as_app.get_user().login  # noqa: B018 - installation tokens cannot read /user
    assert refused.value.status == 403


def test_rest_answers_and_webhooks_validate(sandbox: SandboxServer, client: Callable[..., Github]) -> None:
    exchanges = sandbox.github.record_exchanges()
    _drive_flow(sandbox, client)
    _drive_app_auth(sandbox)
    sandbox.github.wait_idle()

    covered, rest_problems = set(), []
    for exchange in exchanges:
        operation, issues = _validate_exchange(exchange)
        covered.add(operation)
        rest_problems += issues
    assert rest_problems == []
    assert MUST_COVER - covered == set()

    emitted, hook_problems = set(), []
    for delivery in sandbox.github.deliveries():
        emitted.add((delivery.event, delivery.action))
        validator = schemas.webhook_validator(delivery.event, delivery.action)
        hook_problems += [f"{delivery.event}.{delivery.action}: {p}"
                          for p in schemas.problems(validator, delivery.payload)]
    assert hook_problems == []
    assert MUST_EMIT - emitted == set()


def test_the_validators_catch_a_drifted_shape(sandbox: SandboxServer) -> None:
    """The checks above are not vacuous: a missing or an unexpected field is caught."""
    sandbox.github.push_commit(REPO, "topic", {"a.txt": "a\n"}, "a", "alice")
    number = sandbox.github.open_pull(REPO, "topic", "main", "Topic", "alice")
    sandbox.github.wait_idle()
    payload = copy.deepcopy(sandbox.github.deliveries("pull_request")[0].payload)
    hook = schemas.webhook_validator("pull_request", "opened")
    assert schemas.problems(hook, payload) == []
    payload["pull_request"]["unexpected"] = 1
    del payload["repository"]["visibility"]
    found = " ".join(schemas.problems(hook, payload))
    assert "'unexpected' was unexpected" in found and "'visibility' is a required property" in found

    answer = httpx.get(f"{sandbox.api_url}/repos/{REPO}/pulls/{number}",
                       headers={"Authorization": f"token {sandbox.bot_token}"}).json()
    rest = schemas.response_validator("/repos/{owner}/{repo}/pulls/{pull_number}", "get", 200)
    assert rest is not None and schemas.problems(rest, answer) == []
    del answer["head"]["sha"]
    answer["merged"] = "no"
    found = " ".join(schemas.problems(rest, answer))
    assert "'sha' is a required property" in found and "'no' is not of type 'boolean'" in found
