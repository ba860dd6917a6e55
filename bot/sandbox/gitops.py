"""Git plumbing on bare repositories, through the `git` command: no working trees needed."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ZERO_SHA = "0" * 40


class GitError(RuntimeError):
    """A git command failed; the message holds its stderr."""


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: str = ""  # "<unix> <tz>" as git prints it; empty = now


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: list[str]
    author: Signature
    committer: Signature
    message: str


@dataclass(frozen=True)
class TreeEntry:
    name: str
    kind: str  # blob | tree | commit
    sha: str
    size: int


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added | removed | modified | renamed
    additions: int
    deletions: int
    sha: str | None


def git(repo: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None,
        check: bool = True) -> bytes:
    """Run `git --git-dir=repo args` and return its stdout."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    result = subprocess.run(
        ["git", f"--git-dir={repo}", *args], input=stdin, capture_output=True, env=full_env, check=False
    )
    if check and result.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def init_bare(repo: Path, default_branch: str) -> None:
    """Create an empty bare repository whose HEAD names `default_branch`."""
    repo.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "--bare", "-q", f"--initial-branch={default_branch}", str(repo)],
                   check=True, capture_output=True)


def rev_parse(repo: Path, ref: str) -> str | None:
    """The commit sha `ref` names, or None."""
    out = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip()
    return out.decode() or None


def _sig_env(author: Signature, committer: Signature | None = None) -> dict[str, str]:
    committer = committer or author
    env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
           "GIT_COMMITTER_NAME": committer.name, "GIT_COMMITTER_EMAIL": committer.email}
    if author.date:
        env["GIT_AUTHOR_DATE"] = author.date
    if committer.date:
        env["GIT_COMMITTER_DATE"] = committer.date
    return env


def commit_files(repo: Path, branch: str, files: Mapping[str, str | bytes | None], message: str,
                 author: Signature, start_from: str | None = None) -> str:
    """Commit `files` (None deletes) on `branch`, created from `start_from` when missing; return the sha."""
    old = rev_parse(repo, f"refs/heads/{branch}")
    parent = old or (rev_parse(repo, start_from) if start_from else None)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if parent:
            git(repo, "read-tree", parent, env=env)
        for path, content in files.items():
            if content is None:
                # mode 0 removes the entry; `--force-remove` would need a work tree, and these repos are bare
                git(repo, "update-index", "--index-info", stdin=f"0 {ZERO_SHA}\t{path}\n".encode(), env=env)
                continue
            data = content.encode() if isinstance(content, str) else content
            blob = git(repo, "hash-object", "-w", "--stdin", stdin=data).decode().strip()
            git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = git(repo, "write-tree", env=env).decode().strip()
    parents = ["-p", parent] if parent else []
    sha = git(repo, "commit-tree", tree, *parents, "-m", message, env=_sig_env(author)).decode().strip()
    git(repo, "update-ref", f"refs/heads/{branch}", sha, old or ZERO_SHA)
    return sha


def update_ref(repo: Path, ref: str, sha: str) -> None:
    """Point `ref` at `sha`."""
    git(repo, "update-ref", ref, sha)


def ref_sha(repo: Path, ref: str) -> str | None:
    """The object `ref` points at (tag objects are not peeled), or None."""
    out = git(repo, "rev-parse", "--verify", "--quiet", ref, check=False).strip()
    return out.decode() or None


def fetch(repo: Path, source: Path, refspec: str) -> None:
    """Fetch `refspec` from the repository at `source` into `repo`."""
    git(repo, "fetch", "-q", "--no-tags", str(source), refspec)


def object_type(repo: Path, spec: str) -> str | None:
    """The type of object `spec` (blob, tree, commit, tag), or None when absent."""
    out = git(repo, "cat-file", "-t", spec, check=False).strip()
    return out.decode() or None


def read_blob(repo: Path, ref: str, path: str) -> bytes | None:
    """The bytes of `path` at `ref`, or None when it is not a file there."""
    spec = f"{ref}:{path}"
    if object_type(repo, spec) != "blob":
        return None
    return git(repo, "cat-file", "blob", spec)


def list_tree(repo: Path, ref: str, path: str) -> list[TreeEntry] | None:
    """The entries of directory `path` at `ref`, or None when it is not a directory there."""
    spec = f"{ref}:{path}" if path else f"{ref}^{{tree}}"
    if object_type(repo, spec) != "tree":
        return None
    entries = []
    for line in git(repo, "ls-tree", "-l", "-z", spec).decode().split("\0"):
        if not line:
            continue
        meta, name = line.split("\t", 1)
        _mode, kind, sha, size = meta.split()
        entries.append(TreeEntry(name, kind, sha, int(size) if size.isdigit() else 0))
    return entries


def blob_sha(repo: Path, ref: str, path: str) -> str | None:
    """The blob sha of `path` at `ref`, or None."""
    out = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}:{path}", check=False).strip()
    return out.decode() or None


def _parse_sig(value: str) -> Signature:
    name, rest = value.split(" <", 1)
    email, date = rest.split("> ", 1)
    return Signature(name, email, date)


def commit_info(repo: Path, sha: str) -> CommitInfo:
    """Parse the commit object `sha`."""
    raw = git(repo, "cat-file", "commit", sha).decode(errors="replace")
    header, _, message = raw.partition("\n\n")
    tree, parents, author, committer = "", [], Signature("", ""), Signature("", "")
    for line in header.splitlines():
        key, _, value = line.partition(" ")
        if key == "tree":
            tree = value
        elif key == "parent":
            parents.append(value)
        elif key == "author":
            author = _parse_sig(value)
        elif key == "committer":
            committer = _parse_sig(value)
    return CommitInfo(sha, tree, parents, author, committer, message.rstrip("\n"))


def merge_base(repo: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None."""
    return git(repo, "merge-base", a, b, check=False).decode().strip() or None


def commits_between(repo: Path, base: str, head: str) -> list[str]:
    """The commits reachable from `head` but not from `base`, oldest first (`git rev-list base..head`)."""
    return git(repo, "rev-list", "--reverse", f"{base}..{head}").decode().split()


def changed_files(repo: Path, base: str, head: str) -> list[FileChange]:
    """Files changed on `head` since it forked from `base` (GitHub's three-dot diff)."""
    since = merge_base(repo, base, head) or base
    numstat: dict[str, tuple[int, int]] = {}
    for line in git(repo, "diff", "--numstat", "--no-renames", since, head).decode().splitlines():
        added, deleted, name = line.split("\t", 2)
        numstat[name] = (int(added) if added.isdigit() else 0, int(deleted) if deleted.isdigit() else 0)
    names = {"A": "added", "D": "removed", "M": "modified", "T": "changed"}
    changes = []
    for line in git(repo, "diff", "--name-status", "--no-renames", since, head).decode().splitlines():
        code, name = line.split("\t", 1)
        adds, dels = numstat.get(name, (0, 0))
        sha = None if code == "D" else blob_sha(repo, head, name)
        changes.append(FileChange(name, names.get(code[0], "modified"), adds, dels, sha))
    return changes


def merge_commit(repo: Path, base_sha: str, head_sha: str, message: str, author: Signature) -> str | None:
    """Create a merge commit of head into base without touching refs; None on conflicts."""
    result = subprocess.run(["git", f"--git-dir={repo}", "merge-tree", "--write-tree", base_sha, head_sha],
                            capture_output=True, check=False)
    if result.returncode != 0:
        return None
    tree = result.stdout.decode().splitlines()[0].strip()
    return git(repo, "commit-tree", tree, "-p", base_sha, "-p", head_sha, "-m", message,
               env=_sig_env(author)).decode().strip()


def make_tag(repo: Path, tag: str, sha: str, kind: str, message: str, tagger: Signature) -> str:
    """Write an annotated tag object (no ref) and return its sha."""
    date = tagger.date or git(repo, "var", "GIT_COMMITTER_IDENT", env=_sig_env(tagger)).decode().rsplit(
        "> ", 1)[1].strip()
    body = (f"object {sha}\ntype {kind}\ntag {tag}\ntagger {tagger.name} <{tagger.email}> {date}\n\n"
            f"{message.rstrip()}\n")
    return git(repo, "mktag", stdin=body.encode()).decode().strip()


def list_refs(repo: Path, prefix: str) -> dict[str, str]:
    """Every ref under `prefix` (e.g. refs/heads/) mapped to the object it points at."""
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)", prefix).decode()
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def install_push_hook(repo: Path, notify_file: Path, python: str) -> None:
    """Install a post-receive hook that reports pushes to the sandbox named in `notify_file`."""
    hook = repo / "hooks" / "post-receive"
    hook.write_text(
        f"#!{python}\n"
        "import json, sys, urllib.request\n"
        f"url = open({str(notify_file)!r}).read().strip()\n"
        "updates = [line.split() for line in sys.stdin if line.strip()]\n"
        f"body = json.dumps({{'repo_path': {str(repo)!r}, 'updates': updates}}).encode()\n"
        "req = urllib.request.Request(url, data=body, headers={'Content-Type': 'application/json'})\n"
        "urllib.request.urlopen(req, timeout=30).read()\n"
    )
    hook.chmod(0o755)
