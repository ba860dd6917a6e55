"""Webhook deliveries as values: signature check, body decoding and typed events (no I/O).

The edge (`bot.service.app`) only verifies and decodes; the worker turns the stored JSON into a typed
event with `from_payload`, so handlers never index raw dicts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core.errors import MlbotError
from bot.core.types import PullRequest

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"


class MalformedDelivery(MlbotError):
    """The delivery cannot be read: a missing header, a form without `payload`, broken JSON."""


def verify_signature(body: bytes, signature_256: str | None, secrets: Sequence[str]) -> bool:
    """Tell whether `X-Hub-Signature-256` is an HMAC-SHA256 of `body` under one of `secrets`."""
    if not signature_256 or not signature_256.startswith("sha256="):
        return False  # sha1-only (`X-Hub-Signature`) deliveries are refused on purpose
    given = signature_256[len("sha256="):].strip().lower().encode("ascii", "replace")
    found = False
    for secret in secrets:  # no early exit: the time taken does not tell which secret matched
        found |= hmac.compare_digest(_hmac_sha256(secret.encode(), body), given)
    return found


_GIL_CHUNK = 2047  # hashlib releases the GIL for buffers of 2048 bytes or more


def _hmac_sha256(key: bytes, body: bytes) -> bytes:
    # Fed in pieces below hashlib's GIL-release threshold on purpose: on the event loop thread,
    # giving up the GIL mid-request lets the queue's writer thread take it, and getting it back
    # costs far more than the ~16 µs the hash of 25 KB takes (benchmarks/webhook.py).
    mac = hmac.new(key, digestmod=hashlib.sha256)
    view = memoryview(body)
    for start in range(0, len(view), _GIL_CHUNK):
        mac.update(view[start:start + _GIL_CHUNK])
    return mac.hexdigest().encode()


def sign(body: bytes, secret: str) -> str:
    """Return the `X-Hub-Signature-256` value GitHub would send for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def media_type(content_type: str | None) -> str:
    """Return the bare media type of a Content-Type header, lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_body(content_type: str | None, body: bytes) -> bytes:
    """Return the JSON text of a delivery, unwrapping a form-encoded `payload=` field."""
    if media_type(content_type) != FORM_TYPE:
        return body
    try:
        fields = urllib.parse.parse_qs(body.decode("utf-8"), strict_parsing=False)
    except UnicodeDecodeError as error:
        raise MalformedDelivery("the form body is not UTF-8") from error
    values = fields.get("payload")
    if not values:
        raise MalformedDelivery("the form body has no `payload` field",
                                hint="send the payload as `payload=<json>` or use application/json")
    return values[0].encode("utf-8")


def parse_json(text: bytes) -> dict[str, Any]:
    """Return the JSON object in `text`, or raise MalformedDelivery."""
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedDelivery(f"the payload is not valid JSON ({error})") from error
    if not isinstance(value, dict):
        raise MalformedDelivery("the payload is JSON but not an object")
    return value


# --- reading payloads without spreading `d["a"]["b"]` everywhere ------------------------------


def _obj(value: Any, key: str) -> Mapping[str, Any]:
    inner = value.get(key) if isinstance(value, Mapping) else None
    return inner if isinstance(inner, Mapping) else {}


def _str(value: Any, key: str, default: str = "") -> str:
    inner = value.get(key) if isinstance(value, Mapping) else None
    return inner if isinstance(inner, str) else default


def _opt_str(value: Any, key: str) -> str | None:
    inner = value.get(key) if isinstance(value, Mapping) else None
    return inner if isinstance(inner, str) else None


def _int(value: Any, key: str, default: int = 0) -> int:
    inner = value.get(key) if isinstance(value, Mapping) else None
    return inner if isinstance(inner, int) and not isinstance(inner, bool) else default


def _bool(value: Any, key: str) -> bool:
    return bool(value.get(key)) if isinstance(value, Mapping) else False


def _login(value: Any) -> str:
    return _str(value, "login")


# --- typed events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """What every delivery carries: its name, action, repository, installation and sender."""

    name: str
    action: str
    repo: str  # "owner/name", "" for events without a repository (e.g. installation)
    installation_id: int | None
    sender: str
    delivery_id: str = ""

    @classmethod
    def from_payload(cls, event: str, payload: Mapping[str, Any], delivery_id: str = "") -> Event:
        """Build the typed event for webhook `event` from its parsed payload."""
        base = _common(event, payload, delivery_id)
        builder = _BUILDERS.get(event)
        return builder(base, payload) if builder else UnknownEvent(**base, payload=dict(payload))


def _common(event: str, payload: Mapping[str, Any], delivery_id: str) -> dict[str, Any]:
    installation = _obj(payload, "installation")
    return {
        "name": event,
        "action": _str(payload, "action"),
        "repo": _str(_obj(payload, "repository"), "full_name"),
        "installation_id": _int(installation, "id") or None,
        "sender": _login(_obj(payload, "sender")),
        "delivery_id": delivery_id,
    }


@dataclass(frozen=True)
class UnknownEvent(Event):
    """An event mlbot does not model (or an internal job); acknowledged and usually ignored."""

    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PingEvent(Event):
    zen: str = ""
    hook_id: int = 0


@dataclass(frozen=True)
class InstallationEvent(Event):
    """`installation` and `installation_repositories`: which repositories the App may touch."""

    account: str = ""
    repositories_added: tuple[str, ...] = ()
    repositories_removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class PullRequestEvent(Event):
    pull: PullRequest | None = None
    before: str | None = None  # the previous head on `synchronize`

    @property
    def number(self) -> int:
        return self.pull.number if self.pull else 0


@dataclass(frozen=True)
class IssueCommentEvent(Event):
    number: int = 0
    is_pull_request: bool = False
    comment_id: int = 0
    body: str = ""
    author: str = ""
    html_url: str = ""


@dataclass(frozen=True)
class PullRequestReviewEvent(Event):
    pull: PullRequest | None = None
    review_id: int = 0
    reviewer: str = ""
    state: str = ""  # normalised upper case, like the REST API (webhooks send `approved`)
    commit_sha: str | None = None


@dataclass(frozen=True)
class WorkflowRunEvent(Event):
    run_id: int = 0
    workflow_name: str = ""
    display_title: str = ""
    head_sha: str = ""
    head_branch: str = ""
    status: str = ""
    conclusion: str | None = None
    html_url: str = ""
    event: str = ""  # what triggered the run: workflow_dispatch, push, ...
    workflow_path: str = ""


def pull_request_from(repo: str, pr: Mapping[str, Any]) -> PullRequest:
    """Translate a webhook `pull_request` object into `ports.PullRequest`."""
    head, base = _obj(pr, "head"), _obj(pr, "base")
    head_repo = _str(_obj(head, "repo"), "full_name") or repo  # a deleted fork has repo null
    state: Literal["open", "closed"] = "closed" if _str(pr, "state") == "closed" else "open"
    return PullRequest(
        repo=_str(_obj(base, "repo"), "full_name") or repo,
        number=_int(pr, "number"),
        title=_str(pr, "title"),
        author=_login(_obj(pr, "user")),
        head_sha=_str(head, "sha"),
        head_ref=_str(head, "ref"),
        head_repo=head_repo,
        base_ref=_str(base, "ref"),
        base_sha=_str(base, "sha"),
        state=state,
        draft=_bool(pr, "draft"),
        merged=_bool(pr, "merged"),
        merge_commit_sha=_opt_str(pr, "merge_commit_sha"),
        html_url=_str(pr, "html_url"),
        default_branch=_str(_obj(base, "repo"), "default_branch"),
        clone_url=_str(_obj(base, "repo"), "clone_url"),
        merged_at=_str(pr, "merged_at"),
    )


def _ping(base: dict[str, Any], p: Mapping[str, Any]) -> Event:
    return PingEvent(**base, zen=_str(p, "zen"), hook_id=_int(p, "hook_id"))


def _installation(base: dict[str, Any], p: Mapping[str, Any]) -> Event:
    def names(key: str) -> tuple[str, ...]:
        items = p.get(key)
        return tuple(_str(r, "full_name") for r in items if isinstance(r, Mapping)) if isinstance(
            items, list) else ()

    added = names("repositories_added") or names("repositories")
    return InstallationEvent(**base, account=_login(_obj(_obj(p, "installation"), "account")),
                             repositories_added=added, repositories_removed=names("repositories_removed"))


def _pull_request(base: dict[str, Any], p: Mapping[str, Any]) -> Event:
    pr = _obj(p, "pull_request")
    return PullRequestEvent(**base, pull=pull_request_from(base["repo"], pr) if pr else None,
                            before=_opt_str(p, "before"))


def _issue_comment(base: dict[str, Any], p: Mapping[str, Any]) -> Event:
    issue, comment = _obj(p, "issue"), _obj(p, "comment")
    return IssueCommentEvent(**base, number=_int(issue, "number"),
                             is_pull_request=bool(_obj(issue, "pull_request")),
                             comment_id=_int(comment, "id"), body=_str(comment, "body"),
                             author=_login(_obj(comment, "user")), html_url=_str(comment, "html_url"))


def _review(base: dict[str, Any], p: Mapping[str, Any]) -> Event:
    pr, review = _obj(p, "pull_request"), _obj(p, "review")
    return PullRequestReviewEvent(**base, pull=pull_request_from(base["repo"], pr) if pr else None,
                                  review_id=_int(review, "id"), reviewer=_login(_obj(review, "user")),
                                  state=_str(review, "state").upper(),
                                  commit_sha=_opt_str(review, "commit_id"))


def _workflow_run(base: dict[str, Any], p: Mapping[str, Any]) -> Event:
    run = _obj(p, "workflow_run")
    return WorkflowRunEvent(**base, run_id=_int(run, "id"), workflow_name=_str(run, "name"),
                            display_title=_str(run, "display_title"), head_sha=_str(run, "head_sha"),
                            head_branch=_str(run, "head_branch"), status=_str(run, "status"),
                            conclusion=_opt_str(run, "conclusion"), html_url=_str(run, "html_url"),
                            event=_str(run, "event"), workflow_path=_str(run, "path"))


_BUILDERS = {
    "ping": _ping,
    "installation": _installation,
    "installation_repositories": _installation,
    "pull_request": _pull_request,
    "issue_comment": _issue_comment,
    "pull_request_review": _review,
    "workflow_run": _workflow_run,
}
