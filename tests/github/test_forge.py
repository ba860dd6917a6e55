"""Every Forge method against the sandbox, over real HTTP with real PyGithub."""

from __future__ import annotations

import socket

import pytest

from bot.adapters.github.auth import TokenCredentials
from bot.adapters.github.client import GitHubForge
from bot.core.errors import ForgeError, Transient
from bot.ports import CheckOutput
from bot.sandbox import SandboxServer
from tests.github.conftest import BOT, FAST, REPO, inject


def test_repository_contents_at_a_ref(sandbox: SandboxServer, forge: GitHubForge) -> None:
    main = sandbox.github.branch_sha(REPO, "main")
    assert main is not None
    assert forge.default_branch(REPO) == "main"
    assert forge.get_file(REPO, "mlbot.yaml", main) == b"model: churn\n"
    assert forge.get_file(REPO, "README.md", "feature") == b"# churn!\n"
    assert forge.get_file(REPO, "src/model.py", main) is None  # only on the PR branch
    assert forge.get_file(REPO, "policies", main) is None  # a directory is not a file
    assert forge.list_directory(REPO, "policies", main) == ["policies/default.yaml", "policies/strict.yaml"]
    assert forge.list_directory(REPO, "policies/", main) == ["policies/default.yaml", "policies/strict.yaml"]
    assert forge.list_directory(REPO, "nowhere", main) == []
    assert forge.list_directory(REPO, "", main) == ["README.md", "mlbot.yaml"]


def test_binary_files_come_back_byte_for_byte(sandbox: SandboxServer, forge: GitHubForge) -> None:
    blob = bytes(range(256)) * 40
    sha = sandbox.github.push_commit(REPO, "main", {"data/blob.bin": blob}, "Add data")
    assert forge.get_file(REPO, "data/blob.bin", sha) == blob


def test_pull_request_files_reviews_and_comments(sandbox: SandboxServer, forge: GitHubForge) -> None:
    pull = forge.get_pull(REPO, 1)
    head = sandbox.github.branch_sha(REPO, "feature")
    assert (pull.repo, pull.number, pull.title, pull.author) == (REPO, 1, "Tune the model", "alice")
    assert (pull.head_sha, pull.head_ref, pull.base_ref, pull.state) == (head, "feature", "main", "open")
    assert pull.base_sha == sandbox.github.branch_sha(REPO, "main")
    assert not pull.from_fork and not pull.merged and not pull.draft
    assert sorted(forge.list_pull_files(REPO, 1)) == ["README.md", "src/model.py"]

    sandbox.github.review(REPO, 1, "mona", "approve")
    sandbox.github.review(REPO, 1, "tom", "comment", "nice")
    reviews = forge.list_reviews(REPO, 1)
    assert [(r.author, r.state, r.commit_sha) for r in reviews] == [
        ("mona", "APPROVED", head), ("tom", "COMMENTED", head)]

    posted = forge.create_comment(REPO, 1, "hello")
    assert (posted.author, posted.body) == (BOT, "hello") and posted.html_url
    assert [(c.id, c.author, c.body) for c in forge.list_comments(REPO, 1)] == [(posted.id, BOT, "hello")]
    forge.add_reaction(REPO, posted.id, "eyes")
    forge.add_reaction(REPO, posted.id, "rocket")
    reactions = sandbox.github.store.comment(REPO, posted.id).reactions
    assert [(r.content, r.user) for r in reactions] == [("eyes", BOT), ("rocket", BOT)]


def test_a_missing_pull_request_is_a_forge_error(forge: GitHubForge) -> None:
    with pytest.raises(ForgeError) as raised:
        forge.get_pull(REPO, 99)
    assert raised.value.status == 404
    assert raised.value.message == "GitHub refused the GET /repos/acme/churn/pulls/99 (404: Not Found)"


def test_a_comment_over_githubs_limit_is_refused_before_sending(forge: GitHubForge) -> None:
    with pytest.raises(ForgeError, match="over GitHub's 65,536"):
        forge.create_comment(REPO, 1, "x" * 70_000)


@pytest.mark.parametrize(("login", "role"), [
    ("acme", "admin"), ("mona", "maintain"), ("alice", "write"), ("tom", "triage"), ("stranger", "none"),
])
def test_permission_is_the_real_role(
    sandbox: SandboxServer, forge: GitHubForge, login: str, role: str
) -> None:
    sandbox.github.store.user("stranger")
    assert forge.permission(REPO, login) == role


def test_check_runs_are_created_updated_and_listed(sandbox: SandboxServer, forge: GitHubForge) -> None:
    sha = forge.get_pull(REPO, 1).head_sha
    train = forge.create_check_run(REPO, sha, "mlbot/train", status="in_progress",
                                   details_url="http://mlflow/run/1", external_id="run-1")
    gates = forge.create_check_run(REPO, sha, "mlbot/gates", conclusion="neutral",
                                   output=CheckOutput("Waiting for approval", "A maintainer must comment."))
    assert (train.name, train.head_sha, train.status, train.conclusion) == ("mlbot/train", sha, "in_progress",
                                                                            None)
    assert (gates.status, gates.conclusion) == ("completed", "neutral")
    forge.update_check_run(REPO, train.id, conclusion="success",
                           output=CheckOutput("Trained", "roc_auc 0.99", "details"))
    runs = {r.name: r for r in forge.list_check_runs(REPO, sha)}
    assert (runs["mlbot/train"].status, runs["mlbot/train"].conclusion) == ("completed", "success")
    assert runs["mlbot/train"].details_url == "http://mlflow/run/1"
    assert sandbox.github.store.check_runs[train.id].output["text"] == "details"
    assert runs["mlbot/gates"].id == gates.id


def test_combined_statuses_keep_the_latest_per_context(sandbox: SandboxServer, forge: GitHubForge) -> None:
    sha = forge.get_pull(REPO, 1).head_sha
    sandbox.github.create_status(REPO, "alice", sha, {"state": "pending", "context": "tests"})
    sandbox.github.create_status(REPO, "alice", sha, {"state": "success", "context": "tests"})
    sandbox.github.create_status(REPO, "alice", sha, {"state": "failure", "context": "lint"})
    statuses = sorted((s.context, s.state) for s in forge.list_commit_statuses(REPO, sha))
    assert statuses == [("lint", "failure"), ("tests", "success")]


def test_workflow_dispatch_and_its_refusals(sandbox: SandboxServer, forge: GitHubForge) -> None:
    forge.dispatch_workflow(REPO, "mlbot-train.yml", "main", {"sha": "abc123", "pr": "1"})
    [run] = sandbox.github.dispatches(REPO)
    assert (run.ref, run.inputs, run.actor) == ("main", {"sha": "abc123", "pr": "1"}, BOT)

    sandbox.github.push_commit(REPO, "main", {".github/workflows/manual.yml": "on: push\njobs: {}\n"})
    with pytest.raises(ForgeError) as refused:
        forge.dispatch_workflow(REPO, "manual.yml", "main", {})
    assert refused.value.status == 422
    assert "Workflow does not have 'workflow_dispatch' trigger" in refused.value.message
    with pytest.raises(ForgeError) as missing:
        forge.dispatch_workflow(REPO, "nope.yml", "main", {})
    assert missing.value.status == 404


def test_deployment_and_status_despite_a_red_context(sandbox: SandboxServer, forge: GitHubForge) -> None:
    sha = sandbox.github.branch_sha(REPO, "main")
    assert sha is not None
    sandbox.github.create_status(REPO, "alice", sha, {"state": "failure", "context": "nightly"})
    payload = {"model": "churn", "version": 3}
    deployment_id = forge.create_deployment(REPO, sha, "production", "churn v3", payload)
    forge.create_deployment_status(REPO, deployment_id, "success", "promoted v3 (was v2)",
                                   environment_url="http://mlflow/models/churn/3", log_url="http://pr/1")
    [deployment] = sandbox.github.deployments(REPO)
    assert (deployment.id, deployment.sha, deployment.environment) == (deployment_id, sha, "production")
    assert deployment.payload["model"] == "churn" and deployment.payload["version"] == 3
    assert deployment.payload["mlbot_key"]  # names this create, so a lost answer is not created twice
    [status] = deployment.statuses
    assert (status.state, status.environment_url, status.log_url) == (
        "success", "http://mlflow/models/churn/3", "http://pr/1")


def test_annotated_tags_are_idempotent(sandbox: SandboxServer, forge: GitHubForge) -> None:
    main = sandbox.github.branch_sha(REPO, "main")
    feature = sandbox.github.branch_sha(REPO, "feature")
    assert main and feature
    forge.create_tag(REPO, "churn@v3", main, "churn v3 promoted")
    forge.create_tag(REPO, "churn@v3", main, "churn v3 promoted")  # again: nothing changes
    assert sandbox.github.tags(REPO) == {"churn@v3": main}
    [tag] = sandbox.github.store.tags.values()
    assert (tag.tag, tag.object_sha, tag.object_type, tag.message) == ("churn@v3", main, "commit",
                                                                       "churn v3 promoted")
    with pytest.raises(ForgeError, match=r"Tag churn@v3 already exists on acme/churn and points at"):
        forge.create_tag(REPO, "churn@v3", feature, "elsewhere")


def test_a_permanent_502_gives_up_after_the_attempts(sandbox: SandboxServer, forge: GitHubForge) -> None:
    fault = inject(sandbox, method="GET", path_regex=r"^/repos/acme/churn$", status=502, times=1000)
    with pytest.raises(Transient) as raised:
        forge.default_branch(REPO)
    assert fault.hits == 4  # FAST.attempts
    assert (raised.value.status, raised.value.dependency) == (502, "GitHub")
    assert raised.value.message == "GitHub answered 502 to GET /repos/acme/churn 4 times; giving up for now"


def test_a_rate_limit_longer_than_the_budget_fails_at_once(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    fault = inject(sandbox, method="GET", path_regex=r"/pulls/1$", status=403, secondary_rate_limit=True,
                   retry_after=3600, times=5)
    with pytest.raises(Transient, match="would have to wait 3600 s") as raised:
        forge.get_pull(REPO, 1)
    assert fault.hits == 1 and raised.value.status == 403
    assert raised.value.retry_after == 3600  # the queue waits that long before the job's next try


def test_an_unreachable_github_gives_up_after_the_attempts() -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    forge = GitHubForge(f"http://127.0.0.1:{port}", TokenCredentials("t"), bot_login=BOT, policy=FAST)
    with pytest.raises(Transient) as raised:
        forge.default_branch(REPO)
    assert raised.value.status is None
    assert raised.value.message == (
        "GitHub did not answer GET /repos/acme/churn (ConnectionError) 4 times; giving up for now")


def test_a_secondary_limit_without_retry_after_does_not_stall(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    # PyGithub's own retry would sleep 60 s here; ours waits the configured minimum (tiny in tests).
    fault = inject(sandbox, method="GET", path_regex=r"^/repos/acme/churn$", secondary_rate_limit=True,
                   status=403, times=2)
    assert forge.default_branch(REPO) == "main"
    assert fault.hits == 2
