"""Routes: repositories, contents, commits, statuses, check runs, collaborators, git tags and refs."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.sandbox import gitops, payloads, payloads_ci
from bot.sandbox.github import SandboxGitHub
from bot.sandbox.http import Body, Github, User, Who, answer, paginate
from bot.sandbox.payloads import JSON
from bot.sandbox.state import ApiError

router = APIRouter()


def resolve(github: SandboxGitHub, full_name: str, ref: str) -> str:
    """The commit sha of a branch, tag or sha, or a 404/422 like GitHub's."""
    path = github.store.repo(full_name).path
    for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        sha = gitops.rev_parse(path, candidate)
        if sha:
            return sha
    raise ApiError(422, f"No commit found for SHA: {ref}")


@router.get("/repos/{owner}/{name}")
def get_repo(owner: str, name: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    data = payloads.repository(github.base_url, github.store, repo, full=True)
    role = github.store.role(repo.full_name, who.login) if who.login else None
    data["permissions"] = payloads_ci.role_permissions(role)
    return answer(data)


@router.get("/repos/{owner}/{name}/branches/{branch:path}")
def get_branch(owner: str, name: str, branch: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    sha = gitops.rev_parse(repo.path, f"refs/heads/{branch}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    info = gitops.commit_info(repo.path, sha)
    commit = payloads_ci.commit(github.base_url, github.store, repo.full_name, info)
    api = f"{github.base_url}/repos/{repo.full_name}/branches/{branch}"
    return answer({"name": branch, "commit": commit, "protected": False,
                   "protection": {"enabled": False, "required_status_checks": {
                       "enforcement_level": "off", "contexts": [], "checks": []}},
                   "protection_url": f"{api}/protection",
                   "_links": {"self": api, "html": f"{github.base_url}/{repo.full_name}/tree/{branch}"}})


@router.get("/repos/{owner}/{name}/contents")
@router.get("/repos/{owner}/{name}/contents/{path:path}")
def get_contents(owner: str, name: str, github: Github, who: Who, path: str = "",
                 ref: str | None = None) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    ref = ref or repo.default_branch
    sha = resolve(github, repo.full_name, ref)
    path = path.strip("/")
    blob = gitops.read_blob(repo.path, sha, path) if path else None
    if blob is not None:
        blob_sha = gitops.blob_sha(repo.path, sha, path) or ""
        return answer(payloads_ci.content_entry(github.base_url, repo.full_name, path, "file", blob_sha,
                                                len(blob), ref, blob))
    entries = gitops.list_tree(repo.path, sha, path)
    if entries is None:
        raise ApiError(404, "Not Found")
    kinds = {"blob": "file", "tree": "dir", "commit": "submodule"}
    return answer([payloads_ci.content_entry(github.base_url, repo.full_name, f"{path}/{e.name}".lstrip("/"),
                                             kinds[e.kind], e.sha, e.size if e.kind == "blob" else 0, ref)
                   for e in entries])


@router.put("/repos/{owner}/{name}/contents/{path:path}")
def put_contents(owner: str, name: str, path: str, github: Github, login: User, body: Body) -> JSONResponse:
    repo = github.require_write(f"{owner}/{name}", login)
    if not isinstance(body.get("message"), str) or not isinstance(body.get("content"), str):
        raise ApiError(422, 'Invalid request.\n\n"message" and "content" wasn\'t supplied.')
    branch = str(body.get("branch") or repo.default_branch)
    current = gitops.blob_sha(repo.path, f"refs/heads/{branch}", path)
    if current is not None and body.get("sha") != current:
        raise ApiError(409 if body.get("sha") else 422, f"{path} does not match {body.get('sha') or 'sha'}")
    try:
        data = base64.b64decode(body["content"], validate=True)
    except ValueError as error:
        raise ApiError(422, "content is not valid Base64") from error
    sha = github.push_commit(repo.full_name, branch, {path: data}, body["message"], login)
    info = gitops.commit_info(repo.path, sha)
    blob = gitops.blob_sha(repo.path, sha, path) or ""
    entry = payloads_ci.content_entry(github.base_url, repo.full_name, path, "file", blob, len(data), branch)
    return answer({"content": entry, "commit": payloads_ci.commit(github.base_url, github.store,
                                                                   repo.full_name, info)["commit"]
                   | {"sha": sha}}, 200 if current else 201)


@router.delete("/repos/{owner}/{name}/contents/{path:path}")
def delete_contents(owner: str, name: str, path: str, github: Github, login: User, body: Body) -> JSONResponse:
    repo = github.require_write(f"{owner}/{name}", login)
    if not isinstance(body.get("message"), str) or not isinstance(body.get("sha"), str):
        raise ApiError(422, 'Invalid request.\n\n"message" and "sha" wasn\'t supplied.')
    branch = str(body.get("branch") or repo.default_branch)
    current = gitops.blob_sha(repo.path, f"refs/heads/{branch}", path)
    if current is None:
        raise ApiError(404, "Not Found")
    if body["sha"] != current:
        raise ApiError(409, f"{path} does not match {body['sha']}")
    sha = github.push_commit(repo.full_name, branch, {path: None}, body["message"], login)
    info = gitops.commit_info(repo.path, sha)
    return answer({"content": None, "commit": payloads_ci.commit(github.base_url, github.store, repo.full_name,
                                                                  info)["commit"] | {"sha": sha}})


@router.get("/repos/{owner}/{name}/commits/{ref:path}/check-runs")
def list_check_runs(owner: str, name: str, ref: str, request: Request, github: Github, who: Who,
                    check_name: str | None = None, status: str | None = None,
                    filter: str = "latest") -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    runs = github.check_runs(repo.full_name, resolve(github, repo.full_name, ref))
    runs = [r for r in runs if (check_name is None or r.name == check_name)
            and (status is None or r.status == status)]
    if filter == "latest":
        newest = {r.name: r for r in runs}
        runs = [r for r in runs if newest[r.name] is r]
    runs.sort(key=lambda r: -r.id)
    page, headers = paginate(request, runs)
    return answer({"total_count": len(runs),
                   "check_runs": [payloads_ci.check_run(github.base_url, github.store, r) for r in page]},
                  headers=headers)


@router.get("/repos/{owner}/{name}/commits/{ref:path}/statuses")
@router.get("/repos/{owner}/{name}/statuses/{ref}")  # the legacy spelling PyGithub's Commit uses
def list_statuses(owner: str, name: str, ref: str, request: Request, github: Github,
                  who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    items = list(reversed(github.statuses(repo.full_name, resolve(github, repo.full_name, ref))))
    page, headers = paginate(request, items)
    return answer([payloads_ci.status(github.base_url, github.store, s) for s in page], headers=headers)


@router.get("/repos/{owner}/{name}/commits/{ref:path}/status")
def combined_status(owner: str, name: str, ref: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    sha = resolve(github, repo.full_name, ref)
    return answer(payloads_ci.combined_status(github.base_url, github.store, repo.full_name, sha,
                                              github.statuses(repo.full_name, sha)))


@router.get("/repos/{owner}/{name}/compare/{basehead:path}")
def compare(owner: str, name: str, basehead: str, request: Request, github: Github, who: Who) -> JSONResponse:
    """GitHub's three-dot compare: what `head` has that `base` lacks, and the other way round."""
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    base_ref, dots, head_ref = basehead.partition("...")
    base = gitops.rev_parse(repo.path, base_ref) if dots else None
    head = gitops.rev_parse(repo.path, head_ref) if dots else None
    merge_base = gitops.merge_base(repo.path, base, head) if base and head else None
    if base is None or head is None or merge_base is None:
        raise ApiError(404, "Not Found")
    ahead = gitops.commits_between(repo.path, base, head)
    behind = len(gitops.commits_between(repo.path, head, base))
    status = ("identical" if not ahead and not behind else "behind" if not ahead
              else "ahead" if not behind else "diverged")
    page, headers = paginate(request, ahead)

    def commit(sha: str) -> JSON:
        return payloads_ci.commit(github.base_url, github.store, repo.full_name, gitops.commit_info(repo.path, sha))

    html = f"{github.base_url}/{repo.full_name}/compare/{basehead}"
    return answer({"url": f"{github.base_url}/repos/{repo.full_name}/compare/{basehead}", "html_url": html,
                   "permalink_url": f"{github.base_url}/{repo.full_name}/compare/{owner}:{base}...{owner}:{head}",
                   "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "base_commit": commit(base),
                   "merge_base_commit": commit(merge_base), "status": status, "ahead_by": len(ahead),
                   "behind_by": behind, "total_commits": len(ahead), "commits": [commit(sha) for sha in page],
                   "files": [payloads_ci.diff_entry(github.base_url, repo.full_name, head, change)
                             for change in gitops.changed_files(repo.path, base, head)]}, headers=headers)


@router.get("/repos/{owner}/{name}/commits/{ref:path}")
def get_commit(owner: str, name: str, ref: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    info = gitops.commit_info(repo.path, resolve(github, repo.full_name, ref))
    return answer(payloads_ci.commit(github.base_url, github.store, repo.full_name, info))


@router.post("/repos/{owner}/{name}/statuses/{sha}")
def create_status(owner: str, name: str, sha: str, github: Github, login: User, body: Body) -> JSONResponse:
    item = github.create_status(f"{owner}/{name}", login, sha, body)
    return answer(payloads_ci.status(github.base_url, github.store, item), 201)


@router.get("/repos/{owner}/{name}/collaborators/{login}/permission")
def permission(owner: str, name: str, login: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    if who.login is None and who.app_id is None:
        raise ApiError(401, "Requires authentication")
    if login.lower() not in github.store.users:
        raise ApiError(404, "Not Found")
    role = github.store.role(repo.full_name, login)
    data = payloads_ci.collaborator_permission(github.base_url, github.store, repo.full_name, login, role)
    return answer(data)


@router.post("/repos/{owner}/{name}/git/tags")
def create_git_tag(owner: str, name: str, github: Github, login: User, body: Body) -> JSONResponse:
    tag = github.create_tag_object(f"{owner}/{name}", login, body)
    return answer(payloads_ci.git_tag(github.base_url, f"{owner}/{name}", tag), 201)


@router.get("/repos/{owner}/{name}/git/blobs/{sha}")
def get_git_blob(owner: str, name: str, sha: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    if gitops.object_type(repo.path, sha) != "blob":
        raise ApiError(404, "Not Found")
    data = gitops.git(repo.path, "cat-file", "blob", sha)
    return answer({"sha": sha, "node_id": payloads.node_id("B", int(sha[:7], 16)), "size": len(data),
                   "url": f"{github.base_url}/repos/{repo.full_name}/git/blobs/{sha}",
                   "content": payloads_ci.wrap_base64(data), "encoding": "base64"})


@router.get("/repos/{owner}/{name}/git/tags/{sha}")
def get_git_tag(owner: str, name: str, sha: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    tag = github.store.tags.get(sha)
    if tag is None or gitops.object_type(repo.path, sha) != "tag":
        raise ApiError(404, "Not Found")
    return answer(payloads_ci.git_tag(github.base_url, repo.full_name, tag))


@router.post("/repos/{owner}/{name}/git/refs")
def create_git_ref(owner: str, name: str, github: Github, login: User, body: Body) -> JSONResponse:
    ref, sha = str(body.get("ref") or ""), str(body.get("sha") or "")
    _sha, kind = github.create_ref(f"{owner}/{name}", login, ref, sha)
    return answer(payloads_ci.git_ref(github.base_url, f"{owner}/{name}", ref, sha, kind), 201)


@router.get("/repos/{owner}/{name}/git/ref/{ref:path}")
def get_git_ref(owner: str, name: str, ref: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    sha = gitops.ref_sha(repo.path, f"refs/{ref}")
    if sha is None:
        raise ApiError(404, "Not Found")
    kind = gitops.object_type(repo.path, sha) or "commit"
    return answer(payloads_ci.git_ref(github.base_url, repo.full_name, f"refs/{ref}", sha, kind))
