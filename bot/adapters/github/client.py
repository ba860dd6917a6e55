"""The GitHub adapter: the only module that talks to PyGithub; implements `bot.ports.Forge`.

Only `bot.ports` dataclasses leave this module. Every call goes through `call_with_retries`
(bounded backoff on 5xx and rate limits); PyGithub's own retry and request pacing are off, so no
call can hang for a minute behind our back. Every create is idempotent: it hands `_call` a `find`
that looks up what a lost attempt made (a 5xx or a dropped connection after GitHub acted), and
that is reused instead of creating a second one. Each thread gets its own PyGithub client per
identity (token, or App installation): requests sessions are not shared across threads, while
installation tokens are (see `github_auth`).
"""

from __future__ import annotations

import base64
import threading
import urllib.parse
from collections.abc import Callable, Hashable, Mapping
from typing import Literal, TypeVar, cast, get_args

from github import Github
from github.ContentFile import ContentFile
from github.GithubException import GithubException, UnknownObjectException

from bot.adapters.github.auth import AppCredentials, Credentials, TokenCredentials
from bot.adapters.github.changes import Changes
from bot.adapters.github.convert import (
    check_fields,
    check_run,
    comment,
    first_line,
    login_of,
    permission_from,
    pull_request,
    refusal,
    review,
)
from bot.adapters.github.issues import Issues
from bot.adapters.github.once import Attempt, Plan, Unsure
from bot.adapters.github.releases import Releases
from bot.adapters.github.retry import RetryPolicy, call_with_retries
from bot.core.errors import ForgeError
from bot.core.types import COMMENT_LIMIT
from bot.ports import (
    CheckConclusion,
    CheckOutput,
    CheckRun,
    CheckStatus,
    Comment,
    CommitComparison,
    CommitStatus,
    CompareStatus,
    Permission,
    PullRequest,
    Reaction,
    Review,
)

T = TypeVar("T")
STATUSES: tuple[str, ...] = get_args(CompareStatus)


class GitHubForge(Releases, Issues, Changes):
    """`bot.ports.Forge` over the GitHub REST API (github.com, GHES or the sandbox); deployments and tags
    come from `Releases`."""

    def __init__(
        self,
        api_url: str,
        credentials: Credentials,
        *,
        bot_login: str | None = None,
        fallback_login: str = "mlbot[bot]",
        policy: RetryPolicy | None = None,
        timeout: int = 15,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._credentials = credentials
        self._policy = policy or RetryPolicy()
        self._timeout = timeout
        self._bot_login = bot_login
        self._fallback_login = fallback_login
        self._lock = threading.Lock()
        self._login_lock = threading.Lock()  # separate: resolving the login makes a call
        self._local = threading.local()
        self._clients: list[Github] = []
        self._unsure = Unsure()  # creates that gave up not knowing whether GitHub did them

    # --- plumbing -------------------------------------------------------------------------

    def _client(self, key: Hashable) -> Github:
        clients: dict[Hashable, Github] = self._local.__dict__.setdefault("clients", {})
        if key not in clients:
            clients[key] = Github(
                auth=self._credentials.auth_for(key), base_url=self.api_url, timeout=self._timeout,
                per_page=100, retry=None, lazy=True,
                # Pacing off: we make a handful of writes per event and honour rate limits ourselves.
                seconds_between_requests=None, seconds_between_writes=None,
            )
            with self._lock:
                self._clients.append(clients[key])
        return clients[key]

    def _call(self, repo: str, what: str, fn: Callable[[Github], T],
              find: Callable[[Github], T | None] | None = None) -> T:
        key = self._credentials.key_for(repo)
        for fresh_token in (False, True):
            client = self._client(key)
            recover = None if find is None else (lambda: find(client))  # noqa: B023
            try:
                return call_with_retries(what, lambda: fn(client), self._policy, recover)  # noqa: B023
            except GithubException as error:
                if error.status == 401 and not fresh_token and not isinstance(self._credentials,
                                                                             TokenCredentials):
                    self._credentials.invalidate(key)  # an installation token revoked early
                    continue
                raise refusal(error, what) from None
        raise AssertionError("unreachable")

    def _create(self, repo: str, what: str, natural: Hashable, build: Callable[[Attempt], Plan[T]], *,
                look_first: bool = False) -> T:
        """Create something once: every create goes through here (see `once.Unsure`)."""
        return self._unsure.create(natural, build, lambda once, find: self._call(repo, what, once, find),
                                   look_first=look_first)

    def close(self) -> None:
        """Close every HTTP connection this forge opened."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    @property
    def bot_login(self) -> str:
        """The login the bot's comments carry: configured, `<app-slug>[bot]`, or `GET /user`."""
        with self._login_lock:
            if self._bot_login is None:
                if isinstance(self._credentials, AppCredentials):
                    # An installation token cannot call GET /user; the App's slug names the bot.
                    found = self._credentials.bot_login()
                    if found is None:
                        return self._fallback_login  # not cached: GET /app is asked again next time
                    self._bot_login = found
                else:
                    self._bot_login = self._call("", "GET /user", lambda gh: str(gh.get_user().login))
            return self._bot_login

    def clone_credential(self, repo: str) -> str | None:
        """Return the token this forge speaks for `repo` with: the App's installation token, or the configured one."""
        token = self._credentials.auth_for(self._credentials.key_for(repo)).token
        return str(token) if token else None

    # --- repository contents --------------------------------------------------------------

    def default_branch(self, repo: str) -> str:
        """Return the repository's default branch."""
        return self._call(repo, f"GET /repos/{repo}", lambda gh: str(gh.get_repo(repo).default_branch))

    def get_file(self, repo: str, path: str, ref: str) -> bytes | None:
        """Return the file's bytes at `ref`, or None when it does not exist."""
        def fetch(gh: Github) -> bytes | None:
            remote = gh.get_repo(repo)
            try:
                found = remote.get_contents(path.strip("/"), ref=ref)
            except UnknownObjectException:
                return None
            if isinstance(found, list) or found.type != "file":
                return None
            if found.encoding == "base64" and found.content is not None:
                return bytes(found.decoded_content)
            # Files over 1 MB come back without content: read the blob instead.
            return base64.b64decode(remote.get_git_blob(found.sha).content)
        return self._call(repo, f"GET /repos/{repo}/contents/{path}?ref={ref}", fetch)

    def list_directory(self, repo: str, path: str, ref: str) -> list[str]:
        """Return the file paths directly inside `path` at `ref` ([] when absent)."""
        def fetch(gh: Github) -> list[str]:
            try:
                found = gh.get_repo(repo).get_contents(path.strip("/"), ref=ref)
            except UnknownObjectException:
                return []
            entries: list[ContentFile] = found if isinstance(found, list) else []
            return sorted(str(entry.path) for entry in entries if entry.type == "file")
        return self._call(repo, f"GET /repos/{repo}/contents/{path}?ref={ref}", fetch)

    # --- pull requests and comments ---------------------------------------------------------

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """Return the pull request as the ports dataclass."""
        return self._call(repo, f"GET /repos/{repo}/pulls/{number}",
                          lambda gh: pull_request(repo, gh.get_repo(repo).get_pull(number)))

    def recent_pulls(self, repo: str, state: Literal["open", "closed"], limit: int = 50) -> list[PullRequest]:
        """Pull requests in `state`, most recently updated first (one page of up to `limit`)."""
        def fetch(gh: Github) -> list[PullRequest]:
            pulls = gh.get_repo(repo).get_pulls(state=state, sort="updated", direction="desc")
            return [pull_request(repo, p) for p in pulls.get_page(0)[:limit]]
        return self._call(repo, f"GET /repos/{repo}/pulls?state={state}", fetch)

    def list_pull_files(self, repo: str, number: int) -> list[str]:
        """Return the paths the pull request changes."""
        def fetch(gh: Github) -> list[str]:
            return [str(f.filename) for f in gh.get_repo(repo).get_pull(number).get_files()]
        return self._call(repo, f"GET /repos/{repo}/pulls/{number}/files", fetch)

    def list_comments(self, repo: str, number: int) -> list[Comment]:
        """Return every comment on the issue/PR, across all pages, oldest first."""
        return self._call(repo, f"GET /repos/{repo}/issues/{number}/comments",
                          lambda gh: [comment(c) for c in gh.get_repo(repo).get_issue(number).get_comments()])

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        """Post a new comment (once: a lost answer is matched to the bot's same comment posted just now)."""
        _check_length(body, repo, number)

        def build(attempt: Attempt) -> Plan[Comment]:
            def find(gh: Github) -> Comment | None:
                me = self.bot_login.lower()
                for posted in reversed(list(gh.get_repo(repo).get_issue(number).get_comments())):
                    if (posted.body == body and login_of(posted.user).lower() == me
                            and posted.created_at.timestamp() >= attempt.since):
                        return comment(posted)
                return None
            return lambda gh: comment(gh.get_repo(repo).get_issue(number).create_comment(body)), find
        return self._create(repo, f"POST /repos/{repo}/issues/{number}/comments", ("comment", repo, number, body),
                            build)

    def upsert_sticky_comment(self, repo: str, number: int, marker: str, body: str) -> Comment:
        """Edit the bot's own comment whose first line is `marker`, or create it."""
        text = body if first_line(body) == marker.strip() else f"{marker}\n{body}"
        _check_length(text, repo, number)
        me = self.bot_login.lower()

        def upsert(gh: Github) -> Comment:
            # The whole find-then-write is retried, so a retried POST cannot leave a duplicate; and a
            # duplicate another worker made before the report lock existed is folded: the oldest is kept
            # and updated, the newer ones deleted.
            issue = gh.get_repo(repo).get_issue(number)
            mine = [c for c in issue.get_comments()
                    if (c.user.login if c.user else "").lower() == me and first_line(c.body) == marker.strip()]
            if not mine:
                return comment(issue.create_comment(text))
            keep, *twins = sorted(mine, key=lambda c: int(c.id))
            for twin in twins:
                twin.delete()
            if keep.body != text:
                keep.edit(text)
            return comment(keep)
        return self._call(repo, f"upsert of the sticky comment on {repo}#{number}", upsert)

    def add_reaction(self, repo: str, comment_id: int, reaction: Reaction) -> None:
        """React to an issue comment (idempotent on GitHub's side)."""
        url = f"/repos/{repo}/issues/comments/{comment_id}/reactions"
        self._call(repo, f"POST {url}",
                   lambda gh: gh.requester.requestJsonAndCheck("POST", url, input={"content": reaction}))

    def list_reviews(self, repo: str, number: int) -> list[Review]:
        """Return the reviews of a pull request, states upper-cased like the REST API."""
        return self._call(repo, f"GET /repos/{repo}/pulls/{number}/reviews",
                          lambda gh: [review(r) for r in gh.get_repo(repo).get_pull(number).get_reviews()])

    def permission(self, repo: str, login: str) -> Permission:
        """Return the user's real role (maintain and triage included), 'none' when unknown."""
        url = f"/repos/{repo}/collaborators/{urllib.parse.quote(login, safe='')}/permission"

        def fetch(gh: Github) -> Permission:
            try:
                _, data = gh.requester.requestJsonAndCheck("GET", url)
            except UnknownObjectException:
                return "none"
            return permission_from(data)
        return self._call(repo, f"GET {url}", fetch)

    # --- checks and statuses ------------------------------------------------------------------

    def create_check_run(
        self, repo: str, head_sha: str, name: str, *, status: CheckStatus = "queued",
        conclusion: CheckConclusion | None = None, output: CheckOutput | None = None,
        details_url: str | None = None, external_id: str | None = None,
    ) -> CheckRun:
        """Create a check run on `head_sha`; a conclusion implies status completed."""
        fields = check_fields(status=status, conclusion=conclusion, output=output, details_url=details_url)

        def build(attempt: Attempt) -> Plan[CheckRun]:
            # The external id names this create, so a lost answer is matched to the run it made.
            tag = external_id or f"mlbot-{attempt.nonce}"

            def find(gh: Github) -> CheckRun | None:
                for found in gh.get_repo(repo).get_commit(head_sha).get_check_runs(check_name=name):
                    if found.external_id == tag:
                        return check_run(found)
                return None
            return (lambda gh: check_run(gh.get_repo(repo).create_check_run(name, head_sha, external_id=tag,
                                                                            **fields)), find)
        return self._create(repo, f"POST /repos/{repo}/check-runs ({name})",
                            ("check", repo, head_sha, name, external_id), build)

    def update_check_run(
        self, repo: str, check_run_id: int, *, status: CheckStatus | None = None,
        conclusion: CheckConclusion | None = None, output: CheckOutput | None = None,
        details_url: str | None = None,
    ) -> None:
        """Update a check run in place."""
        fields = check_fields(status=status, conclusion=conclusion, output=output, details_url=details_url)
        self._call(repo, f"PATCH /repos/{repo}/check-runs/{check_run_id}",
                   lambda gh: gh.get_repo(repo).get_check_run(check_run_id).edit(**fields))

    def list_check_runs(self, repo: str, sha: str) -> list[CheckRun]:
        """Return every check run on a commit."""
        def fetch(gh: Github) -> list[CheckRun]:
            return [check_run(c) for c in gh.get_repo(repo).get_commit(sha).get_check_runs()]
        return self._call(repo, f"GET /repos/{repo}/commits/{sha}/check-runs", fetch)

    def list_commit_statuses(self, repo: str, sha: str) -> list[CommitStatus]:
        """Return the latest status per context (the combined status)."""
        def fetch(gh: Github) -> list[CommitStatus]:
            combined = gh.get_repo(repo).get_commit(sha).get_combined_status()
            return [CommitStatus(context=str(s.context), state=str(s.state)) for s in combined.statuses]
        return self._call(repo, f"GET /repos/{repo}/commits/{sha}/status", fetch)

    def compare(self, repo: str, base: str, head: str) -> CommitComparison:
        """Compare two commits (GitHub's three-dot compare): does `head` contain `base`?"""
        def fetch(gh: Github) -> CommitComparison:
            # One page of commits is enough: only the counts and the status are read.
            found = gh.get_repo(repo).compare(base, head, comparison_commits_per_page=1)
            return _comparison(str(found.status), int(found.ahead_by), int(found.behind_by))
        return self._call(repo, f"GET /repos/{repo}/compare/{base}...{head}", fetch)

    # --- actions, deployments, tags ---------------------------------------------------------

    def dispatch_workflow(self, repo: str, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Trigger `workflow_dispatch`; raise ForgeError when GitHub refuses it."""
        what = f"dispatch of workflow {workflow} on {repo} at {ref}"
        # throw=True: without it PyGithub turns a 422 (bad inputs, no dispatch trigger) into False.
        self._call(repo, what, lambda gh: gh.get_repo(repo).get_workflow(workflow).create_dispatch(
            ref, inputs=dict(inputs), throw=True))


def _check_length(body: str, repo: str, number: int) -> None:
    if len(body) > COMMENT_LIMIT:
        raise ForgeError(
            f"The comment for {repo}#{number} is {len(body):,} characters, over GitHub's {COMMENT_LIMIT:,}",
            status=422, hint="fold long sections or truncate tables before posting",
        )


def _comparison(status: str, ahead_by: int, behind_by: int) -> CommitComparison:
    if status not in STATUSES:
        raise ForgeError(f"GitHub compared two commits as {status!r}, which I do not know", status=200,
                         hint="report this; GitHub's compare status should be ahead, behind, identical or diverged")
    return CommitComparison(cast(CompareStatus, status), ahead_by, behind_by)
