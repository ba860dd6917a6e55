"""Routes: plain issues — open, list, edit and close (what the production watch keeps one of per model).

No `issues` webhooks are sent yet: nothing in mlbot reacts to them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bot.sandbox import payloads
from bot.sandbox.http import Body, Github, User, Who, answer, paginate
from bot.sandbox.state import ApiError, Issue, now

router = APIRouter()
STATES = ("open", "closed", "all")


@router.post("/repos/{owner}/{name}/issues")
def create_issue(owner: str, name: str, github: Github, login: User, body: Body) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", login)
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ApiError(422, "Validation Failed", errors=[{"resource": "Issue", "field": "title",
                                                          "code": "missing_field"}])
    store = github.store
    with store.lock:
        number = store.next_number.get(repo.full_name.lower(), 0) + 1
        store.next_number[repo.full_name.lower()] = number
        item = Issue(store.new_id(), number, repo.full_name, title, body.get("body"), login, now(), now())
        store.issues[(repo.full_name.lower(), number)] = item
    data = payloads.plain_issue(github.base_url, store, item)
    return answer(data, 201, {"Location": data["url"]})


@router.get("/repos/{owner}/{name}/issues")
def list_issues(owner: str, name: str, request: Request, github: Github, who: Who,
                state: str = "open") -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    if state not in STATES:
        raise ApiError(422, "Validation Failed", errors=[{"resource": "Issue", "field": "state", "code": "invalid"}])
    store, key = github.store, repo.full_name.lower()
    plain = [payloads.plain_issue(github.base_url, store, i) for (r, _), i in list(store.issues.items()) if r == key
             and state in ("all", i.state)]
    pulls = [payloads.issue(github.base_url, store, p) for (r, _), p in list(store.pulls.items()) if r == key
             and state in ("all", p.state)]
    items = sorted(plain + pulls, key=lambda i: -int(i["number"]))  # newest first, as GitHub sorts by created
    page, headers = paginate(request, items)
    return answer(page, headers=headers)


@router.patch("/repos/{owner}/{name}/issues/{number}")
def edit_issue(owner: str, name: str, number: int, github: Github, login: User, body: Body) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", login)
    store = github.store
    with store.lock:
        item = store.issues.get((repo.full_name.lower(), number))
        if item is None:
            raise ApiError(404, "Not Found")
        item.title = str(body.get("title") or item.title)
        item.body = body.get("body", item.body)
        state = body.get("state")
        if state in ("open", "closed"):
            item.state = state
            item.closed_at = now() if state == "closed" else None
            item.state_reason = (body.get("state_reason") or "completed") if state == "closed" else "reopened"
        item.updated_at = now()
        data = payloads.plain_issue(github.base_url, store, item)
    return answer(data)
