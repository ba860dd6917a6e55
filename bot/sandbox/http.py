"""HTTP helpers shared by the sandbox routes: who is calling, JSON bodies, GitHub-style pagination."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from bot.sandbox.github import SandboxGitHub
from bot.sandbox.state import ApiError

T = TypeVar("T")
DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a user token's login, the App (JWT), or nobody."""

    login: str | None
    app_id: str | None = None
    installation: bool = False  # an App installation token, not a personal one


def sandbox(request: Request) -> SandboxGitHub:
    """The sandbox behind this app."""
    found: SandboxGitHub = request.app.state.github
    return found


def _jwt_issuer(token: str) -> str | None:
    """The `iss` of a JWT-shaped token (signature not verified), None when it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time() or "iss" not in claims:
        raise ApiError(401, "'Expiration time' claim ('exp') must be a numeric value representing the "
                            "future time at which the assertion expires")
    return str(claims["iss"])


def caller(request: Request, github: Annotated[SandboxGitHub, Depends(sandbox)]) -> Caller:
    """Identify the caller from `Authorization: token|Bearer ...`; bad credentials are a 401."""
    header = request.headers.get("authorization", "")
    if not header:
        return Caller(None)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() not in ("token", "bearer") or not token:
        raise ApiError(401, "Bad credentials")
    login = github.login_for(token)
    if login is not None:
        return Caller(login, installation=token in github.store.token_expiry)
    if scheme.lower() == "bearer":
        issuer = _jwt_issuer(token)
        if issuer is not None:
            return Caller(None, app_id=issuer)
    raise ApiError(401, "Bad credentials")


def user_caller(who: Annotated[Caller, Depends(caller)]) -> str:
    """The calling user's login; a 401 for anonymous or App-JWT callers."""
    if who.app_id is not None:
        raise ApiError(403, "A JSON web token could not be decoded" if not who.app_id else
                       "Resource not accessible by integration")
    if who.login is None:
        raise ApiError(401, "Requires authentication")
    return who.login


def app_caller(who: Annotated[Caller, Depends(caller)]) -> str:
    """The App id of a JWT caller; 401 for anything else."""
    if who.app_id is None:
        raise ApiError(401, "A JSON web token could not be decoded")
    return who.app_id


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty); 400 when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise ApiError(400, "Problems parsing JSON") from error
    if not isinstance(data, dict):
        raise ApiError(400, "Problems parsing JSON")
    return data


def paginate(request: Request, items: Sequence[T]) -> tuple[list[T], dict[str, str]]:
    """One page of `items` per `per_page`/`page`, and the `Link` header GitHub would send."""
    params = dict(parse_qsl(request.url.query))
    try:
        per_page = max(1, min(100, int(params.get("per_page", "30"))))
        page = max(1, int(params.get("page", "1")))
    except ValueError as error:
        raise ApiError(422, "Invalid pagination parameters") from error
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page: page * per_page])

    def link(number: int, rel: str) -> str:
        query = urlencode({**params, "per_page": str(per_page), "page": str(number)})
        return f'<{request.url.replace(query=query)}>; rel="{rel}"'

    rels = []
    if page > 1:
        rels += [link(page - 1, "prev")]
    if page < last:
        rels += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        rels += [link(1, "first")]
    return chunk, ({"Link": ", ".join(rels)} if rels else {})


def answer(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON answer."""
    return JSONResponse(data, status_code=status, headers=headers)


def error_answer(error: ApiError) -> JSONResponse:
    """The JSON GitHub sends with an error status."""
    body: dict[str, Any] = {"message": error.message, "documentation_url": DOCS, "status": str(error.status)}
    if error.errors:
        body["errors"] = error.errors
    return JSONResponse(body, status_code=error.status, headers=error.headers)


# Route parameter types shared by every routes module.
Github = Annotated[SandboxGitHub, Depends(sandbox)]
Who = Annotated[Caller, Depends(caller)]
User = Annotated[str, Depends(user_caller)]
App = Annotated[str, Depends(app_caller)]
Body = Annotated[dict[str, Any], Depends(json_body)]
