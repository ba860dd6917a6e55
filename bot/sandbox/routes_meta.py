"""Routes: the authenticated user, the App and its installations, and `/_sandbox/*` test controls."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from bot.sandbox import payloads_ci
from bot.sandbox.faults import Fault
from bot.sandbox.html import render_pull
from bot.sandbox.http import App, Body, Github, Who, answer
from bot.sandbox.state import ApiError

router = APIRouter()


@router.get("/user")
def get_user(github: Github, who: Who) -> JSONResponse:
    if who.login is None:
        raise ApiError(401, "Requires authentication")
    if who.installation:
        # Installation tokens cannot call GET /user (FIELD-NOTES); the bot's own PAT can.
        raise ApiError(403, "Resource not accessible by integration")
    return answer(payloads_ci.authenticated_user(github.base_url, github.store, who.login))


@router.get("/app")
def get_app(github: Github, app_id: App) -> JSONResponse:
    return answer(payloads_ci.app(github.base_url, github.store, github.bot_login.removesuffix("[bot]")))


@router.get("/repos/{owner}/{name}/installation")
def repo_installation(owner: str, name: str, github: Github, app_id: App) -> JSONResponse:
    repo = github.store.repo(f"{owner}/{name}")
    return answer(payloads_ci.installation(github.base_url, github.store, github.installation_id(repo.owner),
                                           repo.owner))


@router.post("/app/installations/{installation_id}/access_tokens")
def access_token(installation_id: int, github: Github, app_id: App) -> JSONResponse:
    if github.installation_owner(installation_id) is None:
        raise ApiError(404, "Not Found")
    token, expires = github.installation_token()
    return answer({"token": token, "expires_at": expires, "permissions": payloads_ci.APP_PERMISSIONS,
                   "repository_selection": "all"}, 201)


@router.get("/{owner}/{name}/pull/{number}", response_class=HTMLResponse)
def pull_page(owner: str, name: str, number: int, github: Github) -> HTMLResponse:
    return HTMLResponse(render_pull(github, f"{owner}/{name}", number))


# --- test controls ------------------------------------------------------------------------------


@router.post("/_sandbox/faults")
def add_fault(github: Github, body: Body) -> JSONResponse:
    try:
        fault = Fault.from_json(body)
    except (TypeError, ValueError) as error:
        raise ApiError(422, f"Invalid fault: {error}") from error
    github.faults.add(fault)
    return answer({"active": len(github.faults.active())}, 201)


@router.delete("/_sandbox/faults")
def clear_faults(github: Github) -> JSONResponse:
    github.faults.clear()
    return answer({"active": 0})


@router.post("/_sandbox/tokens")
def make_token(github: Github, body: Body) -> JSONResponse:
    login = str(body.get("login") or "")
    if not login:
        raise ApiError(422, "login is required")
    return answer({"login": login, "token": github.token_for(login)}, 201)


@router.post("/_sandbox/roles")
def set_role(github: Github, body: Body) -> JSONResponse:
    try:
        github.set_role(str(body.get("repo")), str(body.get("login")), body.get("role"))
    except ValueError as error:
        raise ApiError(422, str(error)) from error
    return answer({"ok": True})


@router.post("/_sandbox/repos")
def create_repo(github: Github, body: Body) -> JSONResponse:
    files = {str(k): str(v) for k, v in (body.get("files") or {}).items()} or None
    sha = github.create_repo(str(body.get("full_name")), files, str(body.get("default_branch") or "main"),
                             bool(body.get("private")))
    return answer({"full_name": body.get("full_name"), "sha": sha}, 201)


@router.post("/_sandbox/commits")
def push_commit(github: Github, body: Body) -> JSONResponse:
    files = {str(k): (None if v is None else str(v)) for k, v in (body.get("files") or {}).items()}
    sha = github.push_commit(str(body.get("repo")), str(body.get("branch")), files,
                             str(body.get("message") or "Update files"), body.get("author"))
    return answer({"sha": sha}, 201)


@router.post("/_sandbox/pulls")
def open_pull(github: Github, body: Body) -> JSONResponse:
    number = github.open_pull(str(body.get("repo")), str(body.get("head")), str(body.get("base") or "main"),
                              str(body.get("title") or body.get("head")), str(body.get("author")),
                              from_fork=body.get("from_fork"), body=body.get("body"))
    return answer({"number": number}, 201)


@router.post("/_sandbox/push")
def pushed(github: Github, body: Body) -> JSONResponse:
    github.on_git_push(str(body.get("repo_path")), [list(u) for u in body.get("updates") or []])
    return answer({"ok": True})


@router.post("/_sandbox/runs/{run_id}/complete")
def complete_run(run_id: int, github: Github, body: Body) -> JSONResponse:
    run = github.store.runs.get(run_id)
    if run is None:
        raise ApiError(404, "Not Found")
    github.complete_workflow_run(run.repo, run, str(body.get("conclusion") or "success"))
    return answer({"ok": True})


@router.get("/_sandbox/deliveries")
def deliveries(github: Github) -> JSONResponse:
    return answer([{"id": d.id, "event": d.event, "action": d.action, "status": d.status, "error": d.error}
                   for d in github.deliveries()])
