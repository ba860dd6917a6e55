"""Deployments, their statuses and tags: what a promotion leaves on GitHub, each created once."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from github import Github
from github.GithubException import GithubException, UnknownObjectException

from bot.adapters.github.once import Attempt, Plan, timestamp
from bot.core.errors import ForgeError
from bot.ports import DeploymentState

T = TypeVar("T")
KEY = "mlbot_key"  # the deployment payload key that names one create


class Releases:
    """The deployment and tag half of `GitHubForge` (it supplies `_call` and `_create`)."""

    if TYPE_CHECKING:
        def _call(self, repo: str, what: str, fn: Callable[[Github], T],
                  find: Callable[[Github], T | None] | None = None) -> T: ...

        def _create(self, repo: str, what: str, natural: Hashable, build: Callable[[Attempt], Plan[T]], *,
                    look_first: bool = False) -> T: ...

    def create_deployment(
        self, repo: str, ref: str, environment: str, description: str, payload: Mapping[str, Any]
    ) -> int:
        """Create a deployment of `ref` once and return its id.

        `payload["mlbot_key"]`, when the caller gives one, names the deployment across job retries: an
        existing deployment of `ref` to `environment` with that key is returned instead of a new one.
        Without it a fresh key still makes a retry after a lost answer reuse what the first try made.
        """
        given = KEY in payload

        def build(attempt: Attempt) -> Plan[int]:
            body = {**payload, KEY: str(payload[KEY]) if given else attempt.nonce}

            def find(gh: Github) -> int | None:
                for found in gh.get_repo(repo).get_deployments(ref=ref, environment=environment):
                    if (found.payload or {}).get(KEY) == body[KEY]:
                        return int(found.id)
                return None

            def create(gh: Github) -> int:
                # required_contexts=[]: the model was gated already; GitHub would 409 on any red context.
                return int(gh.get_repo(repo).create_deployment(
                    ref, environment=environment, description=description, payload=body, required_contexts=[],
                    auto_merge=False, production_environment=environment == "production").id)
            return create, find
        natural = ("deployment", repo, ref, environment, json.dumps(dict(payload), sort_keys=True, default=str))
        return self._create(repo, f"POST /repos/{repo}/deployments ({environment})", natural, build,
                            look_first=given)

    def create_deployment_status(
        self, repo: str, deployment_id: int, state: DeploymentState, description: str,
        environment_url: str | None = None, log_url: str | None = None,
    ) -> None:
        """Record a deployment's state."""
        url = f"/repos/{repo}/deployments/{deployment_id}/statuses"
        body = {"state": state, "description": description[:140]}  # GitHub caps descriptions at 140
        body.update({k: v for k, v in (("environment_url", environment_url), ("log_url", log_url)) if v})

        def build(attempt: Attempt) -> Plan[bool]:
            def find(gh: Github) -> bool | None:
                _, statuses = gh.requester.requestJsonAndCheck("GET", url)  # newest first
                same = [f for f in statuses or [] if f.get("state") == state
                        and f.get("description") == body["description"]
                        and timestamp(str(f.get("created_at") or "")) >= attempt.since]
                return True if same else None
            return lambda gh: bool(gh.requester.requestJsonAndCheck("POST", url, input=body)), find
        self._create(repo, f"POST {url}", ("status", repo, deployment_id, state, body["description"]), build)

    def create_tag(self, repo: str, tag: str, sha: str, message: str) -> None:
        """Create an annotated tag object and its ref (idempotent when it already points at sha)."""
        def tagged(gh: Github) -> None:
            remote = gh.get_repo(repo)
            target = _tag_target(remote, tag)
            if target is None:
                tag_object = remote.create_git_tag(tag, message, sha, "commit")
                try:
                    remote.create_git_ref(f"refs/tags/{tag}", tag_object.sha)
                    return
                except GithubException as error:
                    if error.status != 422:  # 422: the ref appeared meanwhile; compare below
                        raise
                target = _tag_target(remote, tag)
            if target != sha:
                raise ForgeError(
                    f"Tag {tag} already exists on {repo} and points at {str(target)[:12]}, not {sha[:12]}",
                    status=422, hint="delete the stale tag or pick another version",
                )
        self._call(repo, f"creation of tag {tag} on {repo}", tagged)


def _tag_target(remote: Any, tag: str) -> str | None:
    """Return the commit sha a tag ref points at (through an annotated tag), None if absent."""
    try:
        ref = remote.get_git_ref(f"tags/{tag}")
        kind, sha = ref.object.type, ref.object.sha
    except UnknownObjectException:
        return None
    if kind == "tag":
        return str(remote.get_git_tag(sha).object.sha)
    return str(sha)


