"""Routes: check runs, workflows and their dispatches and runs, deployments and their statuses."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from bot.sandbox import payloads_ci
from bot.sandbox.http import Body, Github, User, Who, answer, paginate
from bot.sandbox.state import ApiError, owned

router = APIRouter()


@router.post("/repos/{owner}/{name}/check-runs")
def create_check_run(owner: str, name: str, github: Github, login: User, body: Body) -> JSONResponse:
    run = github.create_check_run(f"{owner}/{name}", login, body)
    return answer(payloads_ci.check_run(github.base_url, github.store, run), 201)


@router.patch("/repos/{owner}/{name}/check-runs/{check_run_id}")
def update_check_run(owner: str, name: str, check_run_id: int, github: Github, login: User,
                     body: Body) -> JSONResponse:
    run = github.update_check_run(f"{owner}/{name}", login, check_run_id, body)
    return answer(payloads_ci.check_run(github.base_url, github.store, run))


@router.get("/repos/{owner}/{name}/check-runs/{check_run_id}")
def get_check_run(owner: str, name: str, check_run_id: int, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    run = owned(github.store.check_runs, check_run_id, repo.full_name)
    return answer(payloads_ci.check_run(github.base_url, github.store, run))


@router.get("/repos/{owner}/{name}/actions/workflows/{workflow_id}")
def get_workflow(owner: str, name: str, workflow_id: str, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    number, path, title, _text = github.workflow(repo.full_name, workflow_id)
    return answer(payloads_ci.workflow(github.base_url, repo.full_name, number, path, title))


@router.post("/repos/{owner}/{name}/actions/workflows/{workflow_id}/dispatches", response_model=None)
def dispatch(owner: str, name: str, workflow_id: str, github: Github, login: User,
             body: Body) -> JSONResponse | Response:
    if not isinstance(body.get("ref"), str):
        raise ApiError(422, "Invalid request.\n\n\"ref\" wasn't supplied.")
    inputs = body.get("inputs") or {}
    if not isinstance(inputs, dict) or len(inputs) > 25:
        raise ApiError(422, "Invalid request.\n\nFor 'properties/inputs', the value is not an object.")
    run = github.dispatch(f"{owner}/{name}", login, workflow_id, body["ref"], inputs)
    if body.get("return_run_details"):
        data = payloads_ci.workflow_run(github.base_url, github.store, run)
        return answer({"workflow_run_id": run.id, "run_url": data["url"], "html_url": data["html_url"]})
    return Response(status_code=204)


@router.get("/repos/{owner}/{name}/actions/runs/{run_id}")
def get_run(owner: str, name: str, run_id: int, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    run = owned(github.store.runs, run_id, repo.full_name)
    return answer(payloads_ci.workflow_run(github.base_url, github.store, run))


@router.get("/repos/{owner}/{name}/actions/runs")
def list_runs(owner: str, name: str, request: Request, github: Github, who: Who,
              status: str | None = None) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    runs = [r for r in reversed(github.dispatches(repo.full_name))
            if status is None or status in (r.status, r.conclusion)]
    page, headers = paginate(request, runs)
    return answer({"total_count": len(runs),
                   "workflow_runs": [payloads_ci.workflow_run(github.base_url, github.store, r)
                                     for r in page]},
                  headers=headers)


@router.post("/repos/{owner}/{name}/deployments")
def create_deployment(owner: str, name: str, github: Github, login: User, body: Body) -> JSONResponse:
    item = github.create_deployment(f"{owner}/{name}", login, body)
    return answer(payloads_ci.deployment(github.base_url, github.store, item), 201)


@router.get("/repos/{owner}/{name}/deployments")
def list_deployments(owner: str, name: str, request: Request, github: Github, who: Who,
                     environment: str | None = None, sha: str | None = None,
                     ref: str | None = None) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    items = [d for d in github.deployments(repo.full_name)
             if (environment is None or d.environment == environment) and (sha is None or d.sha == sha)
             and (ref is None or d.ref == ref)]
    page, headers = paginate(request, items)
    return answer([payloads_ci.deployment(github.base_url, github.store, d) for d in page], headers=headers)


@router.get("/repos/{owner}/{name}/deployments/{deployment_id}")
def get_deployment(owner: str, name: str, deployment_id: int, github: Github, who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    item = owned(github.store.deployments, deployment_id, repo.full_name)
    return answer(payloads_ci.deployment(github.base_url, github.store, item))


@router.post("/repos/{owner}/{name}/deployments/{deployment_id}/statuses")
def create_deployment_status(owner: str, name: str, deployment_id: int, github: Github, login: User,
                             body: Body) -> JSONResponse:
    item, status = github.create_deployment_status(f"{owner}/{name}", login, deployment_id, body)
    return answer(payloads_ci.deployment_status(github.base_url, github.store, item, status), 201)


@router.get("/repos/{owner}/{name}/deployments/{deployment_id}/statuses")
def list_deployment_statuses(owner: str, name: str, deployment_id: int, request: Request, github: Github,
                             who: Who) -> JSONResponse:
    repo = github.visible_repo(f"{owner}/{name}", who.login)
    item = owned(github.store.deployments, deployment_id, repo.full_name)
    page, headers = paginate(request, list(reversed(item.statuses)))
    return answer([payloads_ci.deployment_status(github.base_url, github.store, item, s) for s in page],
                  headers=headers)
