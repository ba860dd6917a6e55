"""Plain issues: the one watch issue per model, found by its marker, created once, edited, closed."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from github import Github

from bot.adapters.github.convert import first_line, login_of
from bot.adapters.github.once import Attempt, Plan
from bot.core.types import Issue

T = TypeVar("T")


def issue(i: Any) -> Issue:
    """Convert a PyGithub Issue."""
    return Issue(number=int(i.number), title=str(i.title or ""), body=str(i.body or ""), state=str(i.state),
                 author=login_of(i.user), html_url=str(i.html_url or ""))


class Issues:
    """The issue half of `GitHubForge` (it supplies `_call`, `_create` and `bot_login`)."""

    if TYPE_CHECKING:
        @property
        def bot_login(self) -> str: ...

        def _call(self, repo: str, what: str, fn: Callable[[Github], T],
                  find: Callable[[Github], T | None] | None = None) -> T: ...

        def _create(self, repo: str, what: str, natural: Hashable, build: Callable[[Attempt], Plan[T]], *,
                    look_first: bool = False) -> T: ...

    def _find(self, gh: Github, repo: str, marker: str) -> Issue | None:
        me = self.bot_login.lower()
        for found in gh.get_repo(repo).get_issues(state="open"):
            if (found.pull_request is None and login_of(found.user).lower() == me
                    and first_line(found.body) == marker.strip()):
                return issue(found)
        return None

    def find_issue(self, repo: str, marker: str) -> Issue | None:
        """The bot's own open issue (not a pull request) whose body's first line is `marker`."""
        return self._call(repo, f"GET /repos/{repo}/issues", lambda gh: self._find(gh, repo, marker))

    def get_issue(self, repo: str, number: int) -> Issue:
        """Issue (or pull request) `number` as it is now."""
        return self._call(repo, f"GET /repos/{repo}/issues/{number}",
                          lambda gh: issue(gh.get_repo(repo).get_issue(number)))

    def create_issue(self, repo: str, title: str, body: str) -> Issue:
        """Open an issue once: a lost answer is matched to the bot's open issue with the same first line."""
        marker = first_line(body)

        def build(attempt: Attempt) -> Plan[Issue]:
            del attempt  # the marker names the issue across attempts
            return (lambda gh: issue(gh.get_repo(repo).create_issue(title=title, body=body)),
                    lambda gh: self._find(gh, repo, marker))
        return self._create(repo, f"POST /repos/{repo}/issues", ("issue", repo, marker), build)

    def update_issue(self, repo: str, number: int, *, title: str | None = None, body: str | None = None,
                     state: Literal["open", "closed"] | None = None) -> None:
        """Edit an issue's title or body, or close or reopen it."""
        fields: dict[str, Any] = {k: v for k, v in (("title", title), ("body", body), ("state", state))
                                  if v is not None}
        if fields:
            self._call(repo, f"PATCH /repos/{repo}/issues/{number}",
                       lambda gh: gh.get_repo(repo).get_issue(number).edit(**fields))
