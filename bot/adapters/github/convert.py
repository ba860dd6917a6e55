"""Translate PyGithub objects and exceptions into `bot.ports` dataclasses and ForgeErrors."""

from __future__ import annotations

from typing import Any, cast

from github.GithubException import GithubException

from bot.core.errors import ForgeError
from bot.ports import CheckOutput, CheckRun, Comment, Permission, PullRequest, Review

ROLES: tuple[Permission, ...] = ("admin", "maintain", "write", "triage", "read", "none")
HINTS = {
    401: "check MLBOT_GITHUB_TOKEN or the App's private key",
    403: "give the token or App the permission this call needs (see docs/readme/github.md)",
    404: "check the repository, number or path, and that the bot can see the repository",
    409: "the repository is in a state that conflicts with this call; look at it on GitHub",
    422: "GitHub rejected the request's content; the message says which field",
}


def first_line(text: str | None) -> str:
    """Return the first line of a comment body, trimmed."""
    return (text or "").split("\n", 1)[0].strip()


def login_of(user: Any) -> str:
    """Return a user's login, '' for a deleted ("ghost") user."""
    return str(user.login) if user is not None else ""


def comment(c: Any) -> Comment:
    """Convert an IssueComment."""
    return Comment(id=int(c.id), author=login_of(c.user), body=str(c.body or ""),
                   html_url=str(c.html_url or ""))


def review(r: Any) -> Review:
    """Convert a PullRequestReview; the REST API says APPROVED where webhooks say approved."""
    return Review(author=login_of(r.user), state=str(r.state or "").upper(), commit_sha=r.commit_id)


def check_run(c: Any) -> CheckRun:
    """Convert a CheckRun."""
    return CheckRun(id=int(c.id), name=str(c.name), head_sha=str(c.head_sha), status=str(c.status),
                    conclusion=c.conclusion, details_url=c.details_url)


def pull_request(repo: str, pr: Any) -> PullRequest:
    """Convert a PullRequest from what GitHub sent (reading PyGithub attributes could fetch it again).

    A listed pull request has no `merged` field, only `merged_at`; a deleted fork leaves head.repo
    empty and counts as a fork.
    """
    raw: dict[str, Any] = getattr(pr, "_rawData", None) or {}
    if "head" not in raw:  # a lazy object (`get_pull` with lazy=True): fetch it, once
        raw = pr.raw_data
    head, base = raw.get("head") or {}, raw.get("base") or {}
    base_repo = base.get("repo") or {}
    merged = raw["merged"] if "merged" in raw else raw.get("merged_at") is not None
    return PullRequest(
        repo=repo, number=int(raw.get("number") or pr.number), title=str(raw.get("title") or ""),
        author=str((raw.get("user") or {}).get("login") or ""),
        head_sha=str(head.get("sha") or ""), head_ref=str(head.get("ref") or ""),
        head_repo=str((head.get("repo") or {}).get("full_name") or ""),
        base_ref=str(base.get("ref") or ""), base_sha=str(base.get("sha") or ""),
        state="closed" if raw.get("state") == "closed" else "open", draft=bool(raw.get("draft")),
        merged=bool(merged), merge_commit_sha=raw.get("merge_commit_sha"), html_url=str(raw.get("html_url") or ""),
        default_branch=str(base_repo.get("default_branch") or ""), clone_url=str(base_repo.get("clone_url") or ""),
        merged_at=str(raw.get("merged_at") or ""),
    )


def permission_from(data: Any) -> Permission:
    """Read the real role from a collaborator-permission answer, legacy value as the fallback."""
    for value in (data.get("role_name"), data.get("permission")):
        if value in ROLES:
            return cast(Permission, value)
    return "none"  # a custom org role we cannot rank: grant nothing


def refusal(error: GithubException, what: str) -> ForgeError:
    """Turn a refusal that retrying cannot fix into one sentence plus the next step."""
    data = error.data if isinstance(error.data, dict) else {}
    reason = str(data.get("message") or error.message or "no reason given")
    details = [str(e.get("message") or e.get("code")) for e in data.get("errors", []) if isinstance(e, dict)]
    if details:
        reason += " — " + "; ".join(details)
    return ForgeError(f"GitHub refused the {what} ({error.status}: {reason})",
                      status=error.status, hint=HINTS.get(error.status))


def check_fields(
    *, status: str | None, conclusion: str | None, output: CheckOutput | None, details_url: str | None
) -> dict[str, Any]:
    """Build the check-run fields GitHub accepts: a conclusion requires status completed."""
    fields: dict[str, Any] = {}
    if conclusion is not None:
        fields["status"], fields["conclusion"] = "completed", conclusion
    elif status is not None:
        fields["status"] = status
    if output is not None:
        fields["output"] = {"title": output.title, "summary": output.summary[:65_535]}
        if output.text is not None:
            fields["output"]["text"] = output.text[:65_535]
    if details_url is not None:
        fields["details_url"] = details_url
    return fields
