"""Routes: pull requests, their files, merges and reviews; issue comments and their reactions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.sandbox import payloads, payloads_ci
from bot.sandbox.http import Body, Github, User, Who, answer, paginate
from bot.sandbox.state import ApiError

router = APIRouter()


def _required(body: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if not isinstance(body.get(k), str) or not body[k]]
    if missing:
        raise ApiError(422, "Invalid request.\n\n" + ", ".join(f'"{k}"' for k in missing)
                       + " wasn't supplied.")


@router.post("/repos/{owner}/{name}/pulls")
def create_pull(owner: str, name: str, github: Github, login: User, body: Body) -> JSONResponse:
    _required(body, "head", "base")
    repo = github.visible_repo(f"{owner}/{name}", login)
    head = str(body["head"])
    fork = None
    if ":" in head:
        head_owner, head = head.split(":", 1)
        if head_owner.lower() != repo.owner.lower():
            fork = next((r.full_name for r in list(github.store.repos.values())
                         if r.owner.lower() == head_owner.lower() and r.fork_of == repo.full_name), None)
    number = github.open_pull(repo.full_name, head, str(body["base"]), str(body.get("title") or head), login,
                              from_fork=fork, body=body.get("body"), draft=bool(body.get("draft")))
    return answer(github.pull_payload(github.store.pull(repo.full_name, number)), 201)


@router.get("/repos/{owner}/{name}/pulls")
def list_pulls(owner: str, name: str, request: Request, github: Github, who: Who, state: str = "open",
               head: str | None = None, base: str | None = None) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    pulls = [p for p in list(github.store.pulls.values()) if p.repo == repo.full_name
             and state in ("all", p.state) and (base is None or p.base_ref == base)
             and (head is None or f"{p.head_repo.split('/')[0]}:{p.head_ref}".lower() == head.lower())]
    pulls.sort(key=lambda p: -p.number)
    page, headers = paginate(request, pulls)
    return answer([payloads.pull_request(github.base_url, github.store, p) for p in page], headers=headers)


@router.get("/repos/{owner}/{name}/pulls/{number}")
def get_pull(owner: str, name: str, number: int, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    return answer(github.pull_payload(github.store.pull(repo.full_name, number)))


@router.get("/repos/{owner}/{name}/pulls/{number}/files")
def pull_files(owner: str, name: str, number: int, request: Request, github: Github,
               who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    pull = github.store.pull(repo.full_name, number)
    page, headers = paginate(request, github.pull_files(repo.full_name, number))
    return answer([payloads_ci.diff_entry(github.base_url, repo.full_name, pull.head_sha, c) for c in page],
                  headers=headers)


@router.put("/repos/{owner}/{name}/pulls/{number}/merge")
def merge_pull(owner: str, name: str, number: int, github: Github, login: User, body: Body) -> JSONResponse:
    sha = github.merge(f"{owner}/{name}", number, login, body.get("commit_title"), body.get("sha"))
    return answer({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@router.get("/repos/{owner}/{name}/pulls/{number}/reviews")
def list_reviews(owner: str, name: str, number: int, request: Request, github: Github,
                 who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    github.store.pull(repo.full_name, number)
    page, headers = paginate(request, github.reviews(repo.full_name, number))
    return answer([payloads_ci.review(github.base_url, github.store, r) for r in page], headers=headers)


@router.post("/repos/{owner}/{name}/pulls/{number}/reviews")
def create_review(owner: str, name: str, number: int, github: Github, login: User,
                  body: Body) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", login)
    review_id = github.review(repo.full_name, number, login, str(body.get("event") or "COMMENT"),
                              str(body.get("body") or ""))
    item = next(r for r in github.reviews(repo.full_name, number) if r.id == review_id)
    return answer(payloads_ci.review(github.base_url, github.store, item))


@router.get("/repos/{owner}/{name}/issues/{number}")
def get_issue(owner: str, name: str, number: int, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    plain = github.store.issues.get((repo.full_name.lower(), number))
    if plain is not None:
        return answer(payloads.plain_issue(github.base_url, github.store, plain))
    return answer(payloads.issue(github.base_url, github.store, github.store.pull(repo.full_name, number)))


@router.get("/repos/{owner}/{name}/issues/{number}/comments")
def list_comments(owner: str, name: str, number: int, request: Request, github: Github,
                  who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    github.store.thread_repo(repo.full_name, number)
    page, headers = paginate(request, github.comments(repo.full_name, number))
    return answer([payloads.issue_comment(github.base_url, github.store, c) for c in page], headers=headers)


@router.post("/repos/{owner}/{name}/issues/{number}/comments")
def create_comment(owner: str, name: str, number: int, github: Github, login: User,
                   body: Body) -> JSONResponse:
    _required(body, "body")
    repo = github.visible_repo(f"{owner}/{name}", login)
    comment_id = github.comment(repo.full_name, number, str(body["body"]), login)
    item = github.store.comment(repo.full_name, comment_id)
    return answer(payloads.issue_comment(github.base_url, github.store, item), 201,
                  {"Location": f"{github.base_url}/repos/{repo.full_name}/issues/comments/{comment_id}"})


@router.get("/repos/{owner}/{name}/issues/comments/{comment_id}")
def get_comment(owner: str, name: str, comment_id: int, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    return answer(payloads.issue_comment(github.base_url, github.store,
                                         github.store.comment(repo.full_name, comment_id)))


@router.patch("/repos/{owner}/{name}/issues/comments/{comment_id}")
def edit_comment(owner: str, name: str, comment_id: int, github: Github, login: User,
                 body: Body) -> JSONResponse:
    _required(body, "body")
    repo = github.visible_repo(f"{owner}/{name}", login)
    item = github.edit_comment(repo.full_name, comment_id, str(body["body"]), login)
    return answer(payloads.issue_comment(github.base_url, github.store, item))


@router.delete("/repos/{owner}/{name}/issues/comments/{comment_id}", status_code=204)
def delete_comment(owner: str, name: str, comment_id: int, github: Github, login: User) -> Response:
    repo = github.visible_repo(f"{owner}/{name}", login)
    github.delete_comment(repo.full_name, comment_id, login)
    return Response(status_code=204)


@router.post("/repos/{owner}/{name}/issues/comments/{comment_id}/reactions")
def create_reaction(owner: str, name: str, comment_id: int, github: Github, login: User,
                    body: Body) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", login)
    reaction, created = github.react(repo.full_name, comment_id, str(body.get("content")), login)
    return answer({"id": reaction.id, "node_id": payloads.node_id("REA", reaction.id),
                   "user": payloads.login_user(github.base_url, github.store, reaction.user),
                   "content": reaction.content, "created_at": reaction.created_at}, 201 if created else 200)


@router.get("/repos/{owner}/{name}/issues/comments/{comment_id}/reactions")
def list_reactions(owner: str, name: str, comment_id: int, request: Request, github: Github,
                   who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    page, headers = paginate(request, github.store.comment(repo.full_name, comment_id).reactions)
    return answer([{"id": r.id, "node_id": payloads.node_id("REA", r.id),
                    "user": payloads.login_user(github.base_url, github.store, r.user),
                    "content": r.content, "created_at": r.created_at} for r in page], headers=headers)
