"""GitHub-shaped JSON for checks, statuses, reviews, workflows, deployments, git objects and apps."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from bot.sandbox import gitops
from bot.sandbox.payloads import JSON, author_association, login_user, node_id, repository
from bot.sandbox.state import CheckRun, Deployment, DeploymentStatus, Review, Status, Store, Tag, WorkflowRun

APP_ID = 4242
APP_SLUG = "mlbot"
APP_PERMISSIONS = {"checks": "write", "contents": "write", "deployments": "write", "issues": "write",
                   "metadata": "read", "pull_requests": "write", "statuses": "write", "actions": "write"}
APP_EVENTS = ["pull_request", "issue_comment", "workflow_run", "pull_request_review"]


def app(base: str, store: Store, owner: str) -> JSON:
    """The GitHub App the bot runs as."""
    return {"id": APP_ID, "slug": APP_SLUG, "node_id": node_id("A", APP_ID),
            "client_id": "Iv1.sandbox", "owner": login_user(base, store, owner), "name": "mlbot",
            "description": "GitOps for ML models", "external_url": base,
            "html_url": f"{base}/apps/{APP_SLUG}", "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z", "permissions": APP_PERMISSIONS, "events": APP_EVENTS}


def check_run(base: str, store: Store, run: CheckRun) -> JSON:
    """A check run."""
    url = f"{base}/repos/{run.repo}/check-runs/{run.id}"
    output = {"title": run.output.get("title"), "summary": run.output.get("summary"),
              "text": run.output.get("text"), "annotations_count": 0, "annotations_url": f"{url}/annotations"}
    return {"id": run.id, "node_id": node_id("CR", run.id), "head_sha": run.head_sha,
            "external_id": run.external_id, "url": url, "html_url": f"{base}/{run.repo}/runs/{run.id}",
            "details_url": run.details_url, "status": run.status, "conclusion": run.conclusion,
            "started_at": run.started_at, "completed_at": run.completed_at, "output": output,
            "name": run.name, "check_suite": {"id": run.id + 700_000},
            "app": app(base, store, run.app_owner), "pull_requests": []}


def status(base: str, store: Store, item: Status) -> JSON:
    """A commit status."""
    return {"url": f"{base}/repos/{item.repo}/statuses/{item.sha}", "avatar_url": None, "id": item.id,
            "node_id": node_id("SC", item.id), "state": item.state, "description": item.description,
            "target_url": item.target_url, "context": item.context, "created_at": item.created_at,
            "updated_at": item.created_at, "creator": login_user(base, store, item.creator)}


def combined_status(base: str, store: Store, repo: str, sha: str, items: list[Status]) -> JSON:
    """The combined status: the latest status per context, and their worst state."""
    latest: dict[str, Status] = {}
    for item in items:
        latest[item.context] = item
    states = {s.state for s in latest.values()}
    state = ("failure" if states & {"failure", "error"} else "pending" if "pending" in states or not states
             else "success")
    api = f"{base}/repos/{repo}"
    return {"state": state, "sha": sha, "total_count": len(latest),
            "statuses": [status(base, store, s) for s in latest.values()],
            "repository": repository(base, store, store.repo(repo)),
            "commit_url": f"{api}/commits/{sha}", "url": f"{api}/commits/{sha}/status"}


def review(base: str, store: Store, item: Review, *, webhook: bool = False) -> JSON:
    """A pull request review (webhooks spell the state in lower case)."""
    html = f"{base}/{item.repo}/pull/{item.number}"
    return {"id": item.id, "node_id": node_id("PRR", item.id), "user": login_user(base, store, item.user),
            "body": item.body, "state": item.state.lower() if webhook else item.state,
            "html_url": f"{html}#pullrequestreview-{item.id}",
            "pull_request_url": f"{base}/repos/{item.repo}/pulls/{item.number}",
            "author_association": author_association(store, item.repo, item.user),
            "_links": {"html": {"href": f"{html}#pullrequestreview-{item.id}"},
                       "pull_request": {"href": f"{base}/repos/{item.repo}/pulls/{item.number}"}},
            "submitted_at": item.submitted_at, "commit_id": item.commit_id}


def workflow(base: str, repo: str, workflow_id: int, path: str, name: str) -> JSON:
    """A workflow definition."""
    return {"id": workflow_id, "node_id": node_id("W", workflow_id), "name": name, "path": path,
            "state": "active", "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "url": f"{base}/repos/{repo}/actions/workflows/{workflow_id}",
            "html_url": f"{base}/{repo}/blob/main/{path}",
            "badge_url": f"{base}/{repo}/workflows/{name}/badge.svg"}


def _git_time(date: str) -> str:
    stamp = int(date.split()[0]) if date else 0
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def workflow_run(base: str, store: Store, run: WorkflowRun) -> JSON:
    """A workflow run; `head_commit` is the dispatched ref's commit, as on GitHub."""
    repo = store.repo(run.repo)
    info = gitops.commit_info(repo.path, run.head_sha)
    api = f"{base}/repos/{run.repo}/actions/runs/{run.id}"
    lite_keys = set(repository(base, store, repo)) - _NOT_IN_LITE
    lite = {k: v for k, v in repository(base, store, repo).items() if k in lite_keys}

    def committer(sig: gitops.Signature) -> JSON:
        return {"name": sig.name, "email": sig.email}

    return {
        "id": run.id, "name": run.workflow_name, "node_id": node_id("WFR", run.id),
        "head_branch": run.ref, "head_sha": run.head_sha, "path": run.workflow_path,
        "display_title": run.display_title, "run_number": run.run_number, "event": "workflow_dispatch",
        "status": run.status, "conclusion": run.conclusion, "workflow_id": run.workflow_id,
        "check_suite_id": run.id + 800_000, "check_suite_node_id": node_id("CS", run.id + 800_000),
        "url": api, "html_url": f"{base}/{run.repo}/actions/runs/{run.id}", "pull_requests": [],
        "created_at": run.created_at, "updated_at": run.updated_at, "run_attempt": 1,
        "run_started_at": run.created_at, "actor": login_user(base, store, run.actor),
        "triggering_actor": login_user(base, store, run.actor), "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{base}/repos/{run.repo}/check-suites/{run.id + 800_000}",
        "artifacts_url": f"{api}/artifacts", "cancel_url": f"{api}/cancel", "rerun_url": f"{api}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{base}/repos/{run.repo}/actions/workflows/{run.workflow_id}",
        "head_commit": {"id": info.sha, "tree_id": info.tree, "message": info.message,
                        "timestamp": _git_time(info.committer.date), "author": committer(info.author),
                        "committer": committer(info.committer)},
        "repository": lite, "head_repository": lite,
    }


_NOT_IN_LITE = {
    "created_at", "updated_at", "pushed_at", "git_url", "ssh_url", "clone_url", "svn_url", "homepage",
    "size", "stargazers_count", "watchers_count", "language", "has_issues", "has_projects",
    "has_downloads", "has_wiki", "has_pages", "has_discussions", "forks_count", "mirror_url", "archived",
    "disabled", "open_issues_count", "license", "forks", "open_issues", "watchers", "default_branch",
    "is_template", "web_commit_signoff_required", "topics", "visibility", "custom_properties",
}


def deployment(base: str, store: Store, item: Deployment) -> JSON:
    """A deployment."""
    api = f"{base}/repos/{item.repo}/deployments/{item.id}"
    return {"url": api, "id": item.id, "node_id": node_id("DE", item.id), "sha": item.sha, "ref": item.ref,
            "task": item.task, "payload": item.payload, "original_environment": item.environment,
            "environment": item.environment, "description": item.description,
            "creator": login_user(base, store, item.creator), "created_at": item.created_at,
            "updated_at": item.statuses[-1].created_at if item.statuses else item.created_at,
            "statuses_url": f"{api}/statuses", "repository_url": f"{base}/repos/{item.repo}",
            "transient_environment": False, "production_environment": item.environment == "production"}


def deployment_status(base: str, store: Store, item: Deployment, st: DeploymentStatus) -> JSON:
    """One status of a deployment."""
    api = f"{base}/repos/{item.repo}/deployments/{item.id}"
    return {"url": f"{api}/statuses/{st.id}", "id": st.id, "node_id": node_id("DES", st.id),
            "state": st.state, "creator": login_user(base, store, st.creator), "description": st.description,
            "environment": item.environment, "target_url": st.log_url, "log_url": st.log_url,
            "environment_url": st.environment_url, "created_at": st.created_at, "updated_at": st.created_at,
            "deployment_url": api, "repository_url": f"{base}/repos/{item.repo}"}


def git_tag(base: str, repo: str, tag: Tag) -> JSON:
    """An annotated tag object."""
    api = f"{base}/repos/{repo}/git"
    kind_url = {"commit": "commits", "tree": "trees", "blob": "blobs", "tag": "tags"}[tag.object_type]
    return {"node_id": node_id("TAG", int(tag.sha[:7], 16)), "tag": tag.tag, "sha": tag.sha,
            "url": f"{api}/tags/{tag.sha}", "message": tag.message,
            "tagger": {"name": tag.tagger_name, "email": tag.tagger_email, "date": tag.date},
            "object": {"type": tag.object_type, "sha": tag.object_sha,
                       "url": f"{api}/{kind_url}/{tag.object_sha}"},
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                             "verified_at": None}}


def git_ref(base: str, repo: str, ref: str, sha: str, kind: str) -> JSON:
    """A git reference."""
    api = f"{base}/repos/{repo}/git"
    return {"ref": ref, "node_id": node_id("REF", int(sha[:7], 16)), "url": f"{api}/{ref}",
            "object": {"type": kind, "sha": sha, "url": f"{api}/{kind}s/{sha}"}}


def content_entry(base: str, repo: str, path: str, kind: str, sha: str, size: int, ref: str,
                  content: bytes | None = None) -> JSON:
    """A file or directory entry of the contents API; files carry base64 content like GitHub."""
    api = f"{base}/repos/{repo}/contents/{path}?ref={ref}"
    html = f"{base}/{repo}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
    git_url = f"{base}/repos/{repo}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}"
    data: JSON = {"type": kind, "size": size, "name": path.rsplit("/", 1)[-1], "path": path, "sha": sha,
                  "url": api, "git_url": git_url, "html_url": html,
                  "download_url": f"{base}/{repo}/raw/{ref}/{path}" if kind == "file" else None,
                  "_links": {"self": api, "git": git_url, "html": html}}
    if content is not None and len(content) > MAX_INLINE:
        data["content"], data["encoding"] = "", "none"  # GitHub: read files over 1 MB as blobs
    elif content is not None:
        data["content"], data["encoding"] = wrap_base64(content), "base64"
    return data


MAX_INLINE = 1024 * 1024


def wrap_base64(content: bytes) -> str:
    """Base64 wrapped at 60 characters per line, as GitHub sends file contents."""
    encoded = base64.b64encode(content).decode()
    return "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n"


def commit(base: str, store: Store, repo: str, info: gitops.CommitInfo) -> JSON:
    """A commit as `GET /repos/{o}/{r}/commits/{ref}` returns it."""
    api = f"{base}/repos/{repo}"

    def person(sig: gitops.Signature) -> JSON:
        return {"name": sig.name, "email": sig.email, "date": _git_time(sig.date)}

    return {"url": f"{api}/commits/{info.sha}", "sha": info.sha,
            "node_id": node_id("C", int(info.sha[:7], 16)), "html_url": f"{base}/{repo}/commit/{info.sha}",
            "comments_url": f"{api}/commits/{info.sha}/comments",
            "commit": {"url": f"{api}/git/commits/{info.sha}", "author": person(info.author),
                       "committer": person(info.committer), "message": info.message, "comment_count": 0,
                       "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"}},
            "author": None, "committer": None,
            "parents": [{"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{base}/{repo}/commit/{p}"}
                        for p in info.parents],
            "stats": {"additions": 0, "deletions": 0, "total": 0}, "files": []}


def diff_entry(base: str, repo: str, head_sha: str, change: gitops.FileChange) -> JSON:
    """One changed file of a pull request."""
    return {"sha": change.sha, "filename": change.filename, "status": change.status,
            "additions": change.additions, "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{base}/{repo}/blob/{head_sha}/{change.filename}",
            "raw_url": f"{base}/{repo}/raw/{head_sha}/{change.filename}",
            "contents_url": f"{base}/repos/{repo}/contents/{change.filename}?ref={head_sha}"}


def installation(base: str, store: Store, installation_id: int, owner: str) -> JSON:
    """The app's installation on `owner`."""
    return {"id": installation_id, "app_id": APP_ID, "app_slug": APP_SLUG, "target_id": store.user(owner).id,
            "target_type": store.user(owner).kind, "account": login_user(base, store, owner),
            "single_file_name": None, "repository_selection": "all",
            "access_tokens_url": f"{base}/app/installations/{installation_id}/access_tokens",
            "html_url": f"{base}/settings/installations/{installation_id}",
            "repositories_url": f"{base}/installation/repositories", "events": APP_EVENTS,
            "permissions": APP_PERMISSIONS, "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z", "suspended_by": None, "suspended_at": None}


def authenticated_user(base: str, store: Store, login: str) -> JSON:
    """`GET /user` for a token's owner."""
    data: dict[str, Any] = login_user(base, store, login)
    data.update({"name": login, "company": None, "blog": "", "location": None, "email": None,
                 "hireable": None, "bio": None, "twitter_username": None, "public_repos": 0,
                 "public_gists": 0, "followers": 0, "following": 0, "created_at": "2024-01-01T00:00:00Z",
                 "updated_at": "2024-01-01T00:00:00Z", "private_gists": 0, "total_private_repos": 0,
                 "owned_private_repos": 0, "disk_usage": 0, "collaborators": 0,
                 "two_factor_authentication": True})
    return data


LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


def role_permissions(role: str | None) -> dict[str, bool]:
    """The permission flags a role grants, as GitHub lists them."""
    order = list(LEGACY)
    granted = {name: role in order and order.index(role) <= order.index(name) for name in order}
    return {"admin": granted["admin"], "maintain": granted["maintain"], "push": granted["write"],
            "triage": granted["triage"], "pull": granted["read"]}


def collaborator_permission(base: str, store: Store, repo: str, login: str, role: str | None) -> JSON:
    """`GET .../collaborators/{u}/permission`: the legacy `permission` and the real `role_name`."""
    collaborator = {**login_user(base, store, login), "role_name": role or "none",
                    "permissions": role_permissions(role)}
    return {"permission": LEGACY.get(role or "", "none"), "role_name": role or "none", "user": collaborator}
