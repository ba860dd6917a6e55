"""The sandbox's operations on repositories, pushes, pull requests, comments and reviews.

`SandboxGitHub` is both what the HTTP routes call and the Python API tests and the demo use to
act as people (open a pull request as alice, comment as bob, merge as the maintainer).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from bot.sandbox import gitops, payloads, payloads_ci
from bot.sandbox.ci import CiOps
from bot.sandbox.payloads import REACTIONS
from bot.sandbox.state import ROLES, ApiError, IssueComment, Pull, Reaction, Repo, Review, now

REVIEW_STATES = {"APPROVE": "APPROVED", "APPROVED": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED",
                 "CHANGES_REQUESTED": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", "COMMENTED": "COMMENTED"}
MAX_COMMENT = 65536


class SandboxGitHub(CiOps):
    """A small GitHub: repositories in bare git repos, pull requests, comments, reviews, webhooks."""

    # --- repositories -----------------------------------------------------------------------

    def create_repo(self, full_name: str, files: Mapping[str, str | bytes] | None = None,
                    default_branch: str = "main", private: bool = False) -> str:
        """Create a repository with one commit of `files` on `default_branch`; return its sha."""
        owner, name = full_name.split("/", 1)
        with self.store.lock:
            if full_name.lower() in self.store.repos:
                raise ApiError(422, "Repository creation failed: name already exists on this account")
            path = self.state_dir / "repos" / owner / f"{name}.git"
            gitops.init_bare(path, default_branch)
            self._install_hook(path)
            self.store.user(owner)
            repo = Repo(self.store.new_id(), owner, name, default_branch, private, path, now())
            self.store.repos[full_name.lower()] = repo
            sha = gitops.commit_files(path, default_branch, dict(files or {"README.md": f"# {name}\n"}),
                                      "Initial commit", self.signature(owner))
            repo.pushed_at = now()
            return sha

    def fork(self, repo: str, fork_name: str) -> str:
        """Fork `repo` as `fork_name` (e.g. "alice/demo"); return the fork's full name."""
        source = self.store.repo(repo)
        owner, name = fork_name.split("/", 1)
        with self.store.lock:
            path = self.state_dir / "repos" / owner / f"{name}.git"
            gitops.init_bare(path, source.default_branch)
            self._install_hook(path)
            gitops.fetch(path, source.path, "+refs/heads/*:refs/heads/*")
            self.store.user(owner)
            fork = Repo(self.store.new_id(), owner, name, source.default_branch, source.private, path, now(),
                        fork_of=source.full_name)
            self.store.repos[fork_name.lower()] = fork
            return fork.full_name

    def _install_hook(self, path: Path) -> None:
        gitops.install_push_hook(path, self.state_dir / "push-url", sys.executable)

    def set_role(self, repo: str, login: str, role: str | None) -> None:
        """Make `login` a collaborator with `role` (admin/maintain/write/triage/read); None removes."""
        if role is not None and role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        with self.store.lock:
            target = self.store.repo(repo)
            self.store.user(login)
            if role is None:
                target.roles.pop(login.lower(), None)
            else:
                target.roles[login.lower()] = role

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """The sha `branch` points at, or None."""
        return gitops.rev_parse(self.store.repo(repo).path, f"refs/heads/{branch}")

    # --- pushes -----------------------------------------------------------------------------

    def push_commit(self, repo: str, branch: str, files: Mapping[str, str | bytes | None],
                    message: str = "Update files", author: str | None = None) -> str:
        """Commit `files` (None deletes) on `branch`, as `author` pushing it; return the new sha."""
        target = self.store.repo(repo)
        pusher = author or target.owner
        with self.store.lock:
            before = self.branch_sha(repo, branch) or gitops.ZERO_SHA
            sha = gitops.commit_files(target.path, branch, files, message, self.signature(pusher),
                                      start_from=f"refs/heads/{target.default_branch}")
            self.after_push(target, branch, before, sha, pusher)
        return sha

    def on_git_push(self, repo_path: str, updates: list[list[str]]) -> None:
        """React to a real `git push` reported by a repository's post-receive hook."""
        with self.store.lock:
            target = next((r for r in self.store.repos.values() if str(r.path) == repo_path), None)
            if target is None:
                return
            for old, new, ref in updates:
                if ref.startswith("refs/heads/") and new != gitops.ZERO_SHA:
                    self.after_push(target, ref.removeprefix("refs/heads/"), old, new, target.owner)

    def after_push(self, repo: Repo, branch: str, before: str, after: str, pusher: str) -> None:
        """Move open pull requests whose head is this branch, emitting `synchronize`."""
        repo.pushed_at = now()
        for pull in list(self.store.pulls.values()):
            if pull.state != "open":
                continue
            if pull.head_repo.lower() == repo.full_name.lower() and pull.head_ref == branch:
                self._sync_head(pull, after)
                pull.updated_at = now()
                body = {"action": "synchronize", "number": pull.number, "before": before, "after": after,
                        "pull_request": self.pull_payload(pull)}
                self.emit("pull_request", self.store.repo(pull.repo), pusher, body)
            if pull.repo.lower() == repo.full_name.lower() and pull.base_ref == branch:
                pull.base_sha = after

    def _sync_head(self, pull: Pull, sha: str) -> None:
        base = self.store.repo(pull.repo)
        if pull.head_repo.lower() != pull.repo.lower():
            gitops.fetch(base.path, self.store.repo(pull.head_repo).path,
                         f"+refs/heads/{pull.head_ref}:refs/pull/{pull.number}/head")
        else:
            gitops.update_ref(base.path, f"refs/pull/{pull.number}/head", sha)
        pull.head_sha = sha

    # --- pull requests ----------------------------------------------------------------------

    def open_pull(self, repo: str, head: str, base: str, title: str, author: str,
                  from_fork: str | None = None, body: str | None = None, draft: bool = False) -> int:
        """Open a pull request of `head` (in `from_fork` when given) into `base`; return its number."""
        target = self.store.repo(repo)
        head_repo = self.store.repo(from_fork) if from_fork else target
        with self.store.lock:
            head_sha = gitops.rev_parse(head_repo.path, f"refs/heads/{head}")
            base_sha = gitops.rev_parse(target.path, f"refs/heads/{base}")
            if head_sha is None or base_sha is None:
                raise ApiError(422, "Validation Failed", errors=[
                    {"resource": "PullRequest", "field": "head" if head_sha is None else "base",
                     "code": "invalid"}])
            if any(p.state == "open" and p.head_repo.lower() == head_repo.full_name.lower()
                   and p.head_ref == head and p.base_ref == base for p in self.store.pulls.values()):
                raise ApiError(422, "Validation Failed", errors=[
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {head_repo.owner}:{head}."}])
            number = self.store.next_number.get(target.full_name.lower(), 0) + 1
            self.store.next_number[target.full_name.lower()] = number
            pull = Pull(self.store.new_id(), number, target.full_name, head_repo.full_name, head, head_sha,
                        base, base_sha, title, body, author, now(), now(), draft=draft)
            self.store.pulls[(target.full_name.lower(), number)] = pull
            self._sync_head(pull, head_sha)
            self.emit("pull_request", target, author,
                      {"action": "opened", "number": number, "pull_request": self.pull_payload(pull)})
            return number

    def pull_payload(self, pull: Pull) -> payloads.JSON:
        """The full pull request object, with its diff statistics."""
        changes = self.pull_files(pull.repo, pull.number)
        return payloads.pull_request(self.base_url, self.store, pull, files=len(changes),
                                     additions=sum(c.additions for c in changes),
                                     deletions=sum(c.deletions for c in changes))

    def pull_files(self, repo: str, number: int) -> list[gitops.FileChange]:
        """The files a pull request changes (against its base at open time, or now)."""
        pull = self.store.pull(repo, number)
        path = self.store.repo(repo).path
        head = pull.head_sha if gitops.object_type(path, pull.head_sha) else f"refs/pull/{number}/head"
        return gitops.changed_files(path, pull.base_sha, head)

    def merge(self, repo: str, number: int, by: str, commit_title: str | None = None,
              sha: str | None = None) -> str:
        """Merge a pull request with a real merge commit and emit `closed` (merged); return its sha."""
        target = self.require_write(repo, by)
        with self.store.lock:
            pull = self.store.pull(repo, number)
            if pull.state != "open":
                raise ApiError(405, "Pull Request is not mergeable")
            if sha and sha != pull.head_sha:
                raise ApiError(409, "Head branch was modified. Review and try the merge again.")
            base_sha = gitops.rev_parse(target.path, f"refs/heads/{pull.base_ref}") or pull.base_sha
            head_owner = pull.head_repo.split("/")[0]
            title = commit_title or f"Merge pull request #{number} from {head_owner}/{pull.head_ref}"
            merged = gitops.merge_commit(target.path, base_sha, pull.head_sha, f"{title}\n\n{pull.title}",
                                         self.signature(by))
            if merged is None:
                raise ApiError(405, "Pull Request is not mergeable")
            gitops.update_ref(target.path, f"refs/heads/{pull.base_ref}", merged)
            pull.base_sha = base_sha
            pull.state, pull.merged, pull.merge_commit_sha, pull.merged_by = "closed", True, merged, by
            pull.merged_at = pull.closed_at = pull.updated_at = now()
            self.emit("pull_request", target, by,
                      {"action": "closed", "number": number, "pull_request": self.pull_payload(pull)})
            self.after_push(target, pull.base_ref, base_sha, merged, by)
            return merged

    def close_pull(self, repo: str, number: int, by: str) -> None:
        """Close a pull request without merging."""
        self._transition(repo, number, by, "closed", state="closed")

    def reopen_pull(self, repo: str, number: int, by: str) -> None:
        """Reopen a closed (unmerged) pull request."""
        self._transition(repo, number, by, "reopened", state="open")

    def ready_for_review(self, repo: str, number: int, by: str) -> None:
        """Turn a draft pull request into one ready for review."""
        self._transition(repo, number, by, "ready_for_review", draft=False)

    def _transition(self, repo: str, number: int, by: str, action: str, *, state: str | None = None,
                    draft: bool | None = None) -> None:
        with self.store.lock:
            pull = self.store.pull(repo, number)
            if pull.merged:
                raise ApiError(422, "Validation Failed: the pull request is already merged")
            if state is not None:
                pull.state, pull.closed_at = state, (now() if state == "closed" else None)
            if draft is not None:
                pull.draft = draft
            pull.updated_at = now()
            self.emit("pull_request", self.store.repo(repo), by,
                      {"action": action, "number": number, "pull_request": self.pull_payload(pull)})

    # --- comments, reactions, reviews -------------------------------------------------------

    def comment(self, repo: str, number: int, body: str, author: str) -> int:
        """Comment on a pull request or a plain issue as `author` and emit `issue_comment` created; return its id."""
        if len(body) > MAX_COMMENT:
            raise ApiError(422, "Validation Failed", errors=[
                {"resource": "IssueComment", "code": "custom", "field": "body",
                 "message": "body is too long (maximum is 65536 characters)"}])
        with self.store.lock:
            item = IssueComment(self.store.new_id(), self.store.thread_repo(repo, number), number, author, body,
                                now(), now())
            self.store.comments[item.id] = item
            self._emit_comment("created", item, author)
            return item.id

    def edit_comment(self, repo: str, comment_id: int, body: str, by: str) -> IssueComment:
        """Edit a comment (only its author may) and emit `issue_comment` edited."""
        with self.store.lock:
            item = self.store.comment(repo, comment_id)
            if item.author.lower() != by.lower() and self.store.role(repo, by) not in ("admin", "maintain"):
                raise ApiError(403, "Resource not accessible by personal access token")
            if len(body) > MAX_COMMENT:
                raise ApiError(422, "Validation Failed: body is too long (maximum is 65536 characters)")
            old, item.body, item.updated_at = item.body, body, now()
            self._emit_comment("edited", item, by, changes={"body": {"from": old}})
            return item

    def delete_comment(self, repo: str, comment_id: int, by: str) -> None:
        """Delete a comment (its author, or a maintainer) and emit `issue_comment` deleted."""
        with self.store.lock:
            item = self.store.comment(repo, comment_id)
            if item.author.lower() != by.lower() and self.store.role(repo, by) not in ("admin", "maintain"):
                raise ApiError(403, "Resource not accessible by personal access token")
            del self.store.comments[comment_id]
            self._emit_comment("deleted", item, by)

    def _emit_comment(self, action: str, item: IssueComment, sender: str, **extra: object) -> None:
        plain = self.store.issues.get((item.repo.lower(), item.number))
        issue = (payloads.plain_issue(self.base_url, self.store, plain) if plain is not None
                 else payloads.issue(self.base_url, self.store, self.store.pull(item.repo, item.number)))
        body = {"action": action, "issue": issue,
                "comment": payloads.issue_comment(self.base_url, self.store, item), **extra}
        self.emit("issue_comment", self.store.repo(item.repo), sender, body)

    def comments(self, repo: str, number: int) -> list[IssueComment]:
        """The comments on a pull request or a plain issue, oldest first."""
        with self.store.lock:
            return [c for c in self.store.comments.values()
                    if c.repo.lower() == repo.lower() and c.number == number]

    def react(self, repo: str, comment_id: int, content: str, by: str) -> tuple[Reaction, bool]:
        """Add a reaction (idempotent per user and content); return it and whether it is new."""
        if content not in REACTIONS:
            raise ApiError(422, "Validation Failed", errors=[
                {"resource": "Reaction", "field": "content", "code": "invalid"}])
        with self.store.lock:
            item = self.store.comment(repo, comment_id)
            for existing in item.reactions:
                if existing.user.lower() == by.lower() and existing.content == content:
                    return existing, False
            reaction = Reaction(self.store.new_id(), content, by, now())
            item.reactions.append(reaction)
            return reaction, True

    def review(self, repo: str, number: int, author: str, state: str, body: str = "") -> int:
        """Submit a review as `author` and emit `pull_request_review` submitted; return its id."""
        rest_state = REVIEW_STATES.get(state.upper())
        if rest_state is None:
            raise ApiError(422, f"Unprocessable Entity: unknown review event {state!r}")
        with self.store.lock:
            pull = self.store.pull(repo, number)
            if rest_state != "COMMENTED" and pull.author.lower() == author.lower():
                verb = "approve" if rest_state == "APPROVED" else "request changes on"
                raise ApiError(422, f"Unprocessable Entity: Can not {verb} your own pull request")
            item = Review(self.store.new_id(), pull.repo, number, author, rest_state, body, pull.head_sha,
                          now())
            self.store.reviews.append(item)
            full = self.pull_payload(pull)
            self.emit("pull_request_review", self.store.repo(repo), author, {
                "action": "submitted",
                "review": payloads_ci.review(self.base_url, self.store, item, webhook=True),
                "pull_request": payloads.simple_pull_request(full)})
            return item.id

    def reviews(self, repo: str, number: int) -> list[Review]:
        """The reviews of a pull request, oldest first."""
        with self.store.lock:
            return [r for r in self.store.reviews if r.repo.lower() == repo.lower() and r.number == number]
