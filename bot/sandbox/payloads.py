"""GitHub-shaped JSON for users, repositories, pull requests, issues and comments.

The same objects serve REST answers and webhook payloads, so they carry exactly the fields the
(strict, `additionalProperties: false`) webhook schemas allow; REST-only extras are added by the
caller where an endpoint's schema requires them.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.state import Issue, IssueComment, Pull, Repo, Store, User

JSON = dict[str, Any]
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


def node_id(kind: str, number: int) -> str:
    """An opaque node id in GitHub's style."""
    return f"{kind}_kwDO{number:08d}"


def user(base: str, who: User) -> JSON:
    """A user (or bot) as GitHub embeds it everywhere."""
    url = f"{base}/users/{who.login}"
    return {
        "login": who.login, "id": who.id, "node_id": node_id("U", who.id),
        "avatar_url": f"{base}/avatars/{who.login}", "gravatar_id": "", "url": url,
        "html_url": f"{base}/{who.login}", "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}", "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs", "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}", "received_events_url": f"{url}/received_events",
        "type": who.kind, "site_admin": False,
    }


def login_user(base: str, store: Store, login: str) -> JSON:
    """The user object for `login`."""
    return user(base, store.user(login))


def repository(base: str, store: Store, repo: Repo, *, full: bool = False) -> JSON:
    """A repository; `full` adds the fields only `GET /repos/{o}/{r}` returns."""
    api = f"{base}/repos/{repo.full_name}"
    data: JSON = {
        "id": repo.id, "node_id": node_id("R", repo.id), "name": repo.name, "full_name": repo.full_name,
        "private": repo.private, "owner": login_user(base, store, repo.owner),
        "html_url": f"{base}/{repo.full_name}", "description": None, "fork": repo.fork_of is not None,
        "url": api, "forks_url": f"{api}/forks", "keys_url": f"{api}/keys{{/key_id}}",
        "collaborators_url": f"{api}/collaborators{{/collaborator}}", "teams_url": f"{api}/teams",
        "hooks_url": f"{api}/hooks", "issue_events_url": f"{api}/issues/events{{/number}}",
        "events_url": f"{api}/events", "assignees_url": f"{api}/assignees{{/user}}",
        "branches_url": f"{api}/branches{{/branch}}", "tags_url": f"{api}/tags",
        "blobs_url": f"{api}/git/blobs{{/sha}}", "git_tags_url": f"{api}/git/tags{{/sha}}",
        "git_refs_url": f"{api}/git/refs{{/sha}}", "trees_url": f"{api}/git/trees{{/sha}}",
        "statuses_url": f"{api}/statuses/{{sha}}", "languages_url": f"{api}/languages",
        "stargazers_url": f"{api}/stargazers", "contributors_url": f"{api}/contributors",
        "subscribers_url": f"{api}/subscribers", "subscription_url": f"{api}/subscription",
        "commits_url": f"{api}/commits{{/sha}}", "git_commits_url": f"{api}/git/commits{{/sha}}",
        "comments_url": f"{api}/comments{{/number}}",
        "issue_comment_url": f"{api}/issues/comments{{/number}}",
        "contents_url": f"{api}/contents/{{+path}}", "compare_url": f"{api}/compare/{{base}}...{{head}}",
        "merges_url": f"{api}/merges", "archive_url": f"{api}/{{archive_format}}{{/ref}}",
        "downloads_url": f"{api}/downloads", "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}", "milestones_url": f"{api}/milestones{{/number}}",
        "notifications_url": f"{api}/notifications{{?since,all,participating}}",
        "labels_url": f"{api}/labels{{/name}}", "releases_url": f"{api}/releases{{/id}}",
        "deployments_url": f"{api}/deployments",
        "created_at": repo.created_at, "updated_at": repo.pushed_at or repo.created_at,
        "pushed_at": repo.pushed_at or repo.created_at,
        "git_url": f"git://sandbox/{repo.full_name}.git", "ssh_url": f"git@sandbox:{repo.full_name}.git",
        "clone_url": repo.path.as_uri(), "svn_url": f"{base}/{repo.full_name}", "homepage": None,
        "size": 0, "stargazers_count": 0, "watchers_count": 0, "language": None,
        "has_issues": True, "has_projects": False, "has_downloads": True, "has_wiki": False,
        "has_pages": False, "has_discussions": False, "forks_count": 0, "mirror_url": None,
        "archived": False, "disabled": False, "open_issues_count": _open_count(store, repo),
        "license": None, "forks": 0, "open_issues": _open_count(store, repo), "watchers": 0,
        "default_branch": repo.default_branch, "is_template": False,
        "web_commit_signoff_required": False, "topics": [],
        "visibility": "private" if repo.private else "public", "custom_properties": {},
    }
    if full:
        data.update({"network_count": 0, "subscribers_count": 0, "allow_merge_commit": True,
                     "allow_squash_merge": True, "allow_rebase_merge": True})
        if repo.fork_of:
            data["parent"] = data["source"] = repository(base, store, store.repo(repo.fork_of))
    return data


def _open_count(store: Store, repo: Repo) -> int:
    return sum(1 for p in list(store.pulls.values()) if p.repo.lower() == repo.full_name.lower()
               and p.state == "open")


def author_association(store: Store, repo: str, login: str) -> str:
    """OWNER, COLLABORATOR or NONE, as GitHub labels a comment's author."""
    target = store.repo(repo)
    if login.lower() == target.owner.lower():
        return "OWNER"
    return "COLLABORATOR" if login.lower() in target.roles else "NONE"


def _branch(base: str, store: Store, repo_name: str, ref: str, sha: str) -> JSON:
    repo = store.repo(repo_name)
    return {"label": f"{repo.owner}:{ref}", "ref": ref, "sha": sha,
            "user": login_user(base, store, repo.owner), "repo": repository(base, store, repo)}


def pull_request(base: str, store: Store, pull: Pull, *, files: int = 0, additions: int = 0,
                 deletions: int = 0, commits: int = 1) -> JSON:
    """A pull request as `GET /pulls/{n}` and the `pull_request` webhook show it."""
    api = f"{base}/repos/{pull.repo}"
    html = f"{base}/{pull.repo}/pull/{pull.number}"
    comments = sum(1 for c in list(store.comments.values())
                   if c.repo.lower() == pull.repo.lower() and c.number == pull.number)
    links = {"self": f"{api}/pulls/{pull.number}", "html": html,
             "issue": f"{api}/issues/{pull.number}", "comments": f"{api}/issues/{pull.number}/comments",
             "review_comments": f"{api}/pulls/{pull.number}/comments",
             "review_comment": f"{api}/pulls/comments{{/number}}",
             "commits": f"{api}/pulls/{pull.number}/commits", "statuses": f"{api}/statuses/{pull.head_sha}"}
    return {
        "url": links["self"], "id": pull.id, "node_id": node_id("PR", pull.id), "html_url": html,
        "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": links["issue"],
        "number": pull.number, "state": pull.state, "locked": False, "title": pull.title,
        "user": login_user(base, store, pull.author), "body": pull.body,
        "created_at": pull.created_at, "updated_at": pull.updated_at, "closed_at": pull.closed_at,
        "merged_at": pull.merged_at, "merge_commit_sha": pull.merge_commit_sha, "assignee": None,
        "assignees": [], "requested_reviewers": [], "requested_teams": [], "labels": [], "milestone": None,
        "draft": pull.draft, "commits_url": links["commits"], "review_comments_url": links["review_comments"],
        "review_comment_url": links["review_comment"], "comments_url": links["comments"],
        "statuses_url": links["statuses"],
        "head": _branch(base, store, pull.head_repo, pull.head_ref, pull.head_sha),
        "base": _branch(base, store, pull.repo, pull.base_ref, pull.base_sha),
        "_links": {k: {"href": v} for k, v in links.items()},
        "author_association": author_association(store, pull.repo, pull.author), "auto_merge": None,
        "active_lock_reason": None, "merged": pull.merged, "mergeable": None if pull.merged else True,
        "rebaseable": None if pull.merged else True,
        "mergeable_state": "unknown" if pull.state == "closed" else "clean",
        "merged_by": login_user(base, store, pull.merged_by) if pull.merged_by else None,
        "comments": comments, "review_comments": 0, "maintainer_can_modify": False, "commits": commits,
        "additions": additions, "deletions": deletions, "changed_files": files,
    }


def simple_pull_request(full: JSON) -> JSON:
    """The slimmer pull request that `pull_request_review` webhooks carry."""
    drop = ("merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments",
            "review_comments", "maintainer_can_modify", "commits", "additions", "deletions", "changed_files")
    return {k: v for k, v in full.items() if k not in drop}


def reactions(base: str, comment: IssueComment) -> JSON:
    """The reaction roll-up of a comment."""
    counts = {name: sum(1 for r in comment.reactions if r.content == name) for name in REACTIONS}
    url = f"{base}/repos/{comment.repo}/issues/comments/{comment.id}/reactions"
    return {"url": url, "total_count": len(comment.reactions), **counts}


def issue_comment(base: str, store: Store, comment: IssueComment) -> JSON:
    """An issue comment (REST and webhook)."""
    api = f"{base}/repos/{comment.repo}"
    kind = "issues" if (comment.repo.lower(), comment.number) in store.issues else "pull"
    return {
        "url": f"{api}/issues/comments/{comment.id}",
        "html_url": f"{base}/{comment.repo}/{kind}/{comment.number}#issuecomment-{comment.id}",
        "issue_url": f"{api}/issues/{comment.number}", "id": comment.id,
        "node_id": node_id("IC", comment.id), "user": login_user(base, store, comment.author),
        "created_at": comment.created_at, "updated_at": comment.updated_at,
        "author_association": author_association(store, comment.repo, comment.author),
        "performed_via_github_app": None, "body": comment.body, "reactions": reactions(base, comment),
    }


def issue(base: str, store: Store, pull: Pull) -> JSON:
    """The issue side of a pull request (what `issue_comment` webhooks and `GET /issues/{n}` carry)."""
    api = f"{base}/repos/{pull.repo}"
    full = pull_request(base, store, pull)
    rollup = {"url": f"{api}/issues/{pull.number}/reactions", "total_count": 0,
              **{name: 0 for name in REACTIONS}}
    return {
        "url": f"{api}/issues/{pull.number}", "repository_url": api,
        "labels_url": f"{api}/issues/{pull.number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{pull.number}/comments",
        "events_url": f"{api}/issues/{pull.number}/events", "html_url": full["html_url"],
        "id": pull.id + 500_000, "node_id": node_id("I", pull.id), "number": pull.number,
        "title": pull.title, "user": full["user"], "labels": [], "state": pull.state, "locked": False,
        "assignee": None, "assignees": [], "milestone": None, "comments": full["comments"],
        "created_at": pull.created_at, "updated_at": pull.updated_at, "closed_at": pull.closed_at,
        "author_association": full["author_association"], "active_lock_reason": None,
        "draft": pull.draft, "body": pull.body, "reactions": rollup,
        "pull_request": {"url": full["url"], "html_url": full["html_url"], "diff_url": full["diff_url"],
                         "patch_url": full["patch_url"], "merged_at": pull.merged_at},
        "timeline_url": f"{api}/issues/{pull.number}/timeline", "performed_via_github_app": None,
        "state_reason": None,
    }


def plain_issue(base: str, store: Store, item: Issue) -> JSON:
    """A plain issue (REST and webhook): the pull request's issue shape without `pull_request`."""
    api = f"{base}/repos/{item.repo}"
    comments = sum(1 for c in list(store.comments.values()) if c.repo == item.repo and c.number == item.number)
    return {
        "url": f"{api}/issues/{item.number}", "repository_url": api,
        "labels_url": f"{api}/issues/{item.number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{item.number}/comments",
        "events_url": f"{api}/issues/{item.number}/events", "html_url": f"{base}/{item.repo}/issues/{item.number}",
        "id": item.id, "node_id": node_id("I", item.id), "number": item.number,
        "title": item.title, "user": login_user(base, store, item.author), "labels": [], "state": item.state,
        "locked": False, "assignee": None, "assignees": [], "milestone": None, "comments": comments,
        "created_at": item.created_at, "updated_at": item.updated_at, "closed_at": item.closed_at,
        "author_association": author_association(store, item.repo, item.author), "active_lock_reason": None,
        "body": item.body, "reactions": {"url": f"{api}/issues/{item.number}/reactions", "total_count": 0,
                                         **{name: 0 for name in REACTIONS}},
        "timeline_url": f"{api}/issues/{item.number}/timeline", "performed_via_github_app": None,
        "state_reason": item.state_reason,
    }
