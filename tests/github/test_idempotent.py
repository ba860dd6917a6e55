"""Every create happens once, even when GitHub does the write and the answer is lost (sandbox `after`)."""

from __future__ import annotations

from bot.adapters.github.client import GitHubForge
from bot.sandbox import SandboxServer
from tests.github.conftest import BOT, REPO, inject


def test_a_comment_whose_answer_was_lost_is_posted_once(sandbox: SandboxServer, forge: GitHubForge) -> None:
    fault = inject(sandbox, method="POST", path_regex=r"/issues/1/comments$", status=502, after=True)
    posted = forge.create_comment(REPO, 1, "🚀 promoted **churn** v2 to production (was v1).")
    assert fault.hits == 1
    comments = forge.list_comments(REPO, 1)
    assert [(c.id, c.author) for c in comments] == [(posted.id, BOT)]


def test_a_comment_that_was_not_made_is_made_by_the_retry(sandbox: SandboxServer, forge: GitHubForge) -> None:
    inject(sandbox, method="POST", path_regex=r"/issues/1/comments$", status=502, times=2)
    posted = forge.create_comment(REPO, 1, "hello")
    assert [c.id for c in forge.list_comments(REPO, 1)] == [posted.id]


def test_an_earlier_identical_comment_is_not_taken_for_the_lost_one(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    inject(sandbox, method="POST", path_regex=r"/issues/1/comments$", status=502)  # not performed
    someone = sandbox.github.comment(REPO, 1, "same words", "alice")
    posted = forge.create_comment(REPO, 1, "same words")  # alice's comment is not the bot's
    assert posted.id != someone and posted.author == BOT


def test_a_deployment_and_its_status_whose_answers_were_lost_exist_once(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    inject(sandbox, method="POST", path_regex=r"/deployments$", status=502, after=True)
    inject(sandbox, method="POST", path_regex=r"/deployments/\d+/statuses$", status=504, after=True)
    deployment = forge.create_deployment(REPO, "main", "production", "churn v2", {"model": "churn"})
    forge.create_deployment_status(REPO, deployment, "success", "churn v2 is production")
    deployments = sandbox.github.deployments(REPO)
    assert [d.id for d in deployments] == [deployment]
    assert [s.state for s in deployments[0].statuses] == ["success"]


def test_a_deployment_keyed_by_the_caller_is_created_once_across_job_retries(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    payload = {"model": "churn", "version": "2", "mlbot_key": "promote:churn:7"}
    first = forge.create_deployment(REPO, "main", "production", "churn v2", payload)
    again = forge.create_deployment(REPO, "main", "production", "churn v2", payload)  # a re-run job
    assert first == again and len(sandbox.github.deployments(REPO)) == 1


def test_a_check_run_whose_answer_was_lost_exists_once_per_name(
    sandbox: SandboxServer, forge: GitHubForge
) -> None:
    head = forge.get_pull(REPO, 1).head_sha
    inject(sandbox, method="POST", path_regex=r"/check-runs$", status=502, after=True, times=2)
    train = forge.create_check_run(REPO, head, "mlbot/train", status="in_progress")
    gates = forge.create_check_run(REPO, head, "mlbot/gates", external_id="delivery-1")
    runs = forge.list_check_runs(REPO, head)
    assert sorted((r.name, r.id) for r in runs) == sorted([("mlbot/train", train.id), ("mlbot/gates", gates.id)])
