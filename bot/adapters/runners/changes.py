"""What a data refresh changed in its checkout, read from `git status`, and when mlbot refuses to propose it.

`/retrain` in a watch issue runs the team's `watch.refresh` on the default branch's checkout; what
it leaves behind becomes a pull request. The bot proposes plain files only, a bounded number of
them, none too large for GitHub's contents API, and never a workflow: a change under `.github/`
could give the next run of Actions the repository's secrets, so a human makes it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Git = Callable[[list[str], Path], tuple[int, bytes, str]]  # (exit code, stdout, last complaint line)

MAX_FILES = 100
MAX_FILE_BYTES = 50 * 1024 * 1024  # GitHub warns from 50 MB and refuses 100 MB
HUMANS_ONLY = ".github"  # workflows and repository settings: a human changes them


@dataclass(frozen=True)
class Changes:
    """The changed files (path → content; None: deleted), or why they are not proposed."""

    files: dict[str, bytes | None]
    problem: str | None = None


def changed_paths(status: bytes) -> list[str]:
    """Every path `git status --porcelain=v1 -z --untracked-files=all` names, in its order.

    Each entry is `XY PATH`; a rename or copy is followed by its source path, and the source of a
    rename is gone from the tree (so it reads as deleted). A path git ends with `/` is a directory it
    did not look into (a nested repository), kept as such so it can be refused.
    """
    entries = status.split(b"\0")
    paths: list[str] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue  # the empty string after the last NUL
        xy, path = entry[:2], entry[3:]
        paths.append(os.fsdecode(path))
        if b"R" in xy or b"C" in xy:
            source = entries[index] if index < len(entries) else b""
            index += 1
            if b"R" in xy and source:
                paths.append(os.fsdecode(source))
    return list(dict.fromkeys(paths))


def refusal(paths: list[str]) -> str | None:
    """Why mlbot will not propose changes to `paths` by name alone (their number, a workflow), or None."""
    if not paths:
        return "The refresh command finished but changed no file in the repository, so there is nothing to propose."
    if len(paths) > MAX_FILES:
        return (f"The refresh command changed {len(paths)} files, more than the {MAX_FILES} mlbot proposes in "
                "one pull request; refresh fewer files or commit them by hand.")
    humans = [p for p in paths if p == HUMANS_ONLY or p.startswith(f"{HUMANS_ONLY}/")]
    if humans:
        return (f"The refresh command changed {', '.join(humans[:3])} under {HUMANS_ONLY}/, which only a human "
                "changes (a workflow could reach the repository's secrets), so mlbot proposes nothing.")
    return None


def after_refresh(root: Path, sha: str, git: Git) -> Changes:
    """What a refresh left uncommitted in the checkout `root` (at `sha`), or why it is not proposed."""
    _, head, _ = git(["rev-parse", "HEAD"], root)
    if head.decode().strip() != sha:
        return Changes({}, "The refresh command committed or checked out something itself; leave the refreshed "
                           "files uncommitted and mlbot proposes them.")
    code, status, complaint = git(["status", "--porcelain=v1", "-z", "--untracked-files=all"], root)
    if code != 0:
        return Changes({}, f"I could not read what the refresh changed (git status: {complaint[:200]}).")
    return collect(root, status)


def collect(root: Path, status: bytes) -> Changes:
    """Read what `status` (from `git status` in `root`) names: plain files' bytes, None for deleted ones."""
    paths = changed_paths(status)
    problem = refusal(paths) or next(filter(None, (file_problem(root, path) for path in paths)), None)
    if problem:
        return Changes({}, problem)
    # every path checked before any is read: nothing outside the checkout is ever opened
    return Changes({path: (root / path).read_bytes() if os.path.lexists(root / path) else None for path in paths})


def file_problem(root: Path, path: str) -> str | None:
    """Why `path` cannot be proposed: not a plain file of the checkout (a link could carry any file of this
    host), a name that is not UTF-8, or too big for GitHub; None for a plain file or a deleted one."""
    name = path.rstrip("/")
    if any("\udc80" <= c <= "\udcff" for c in path):  # os.fsdecode's stand-ins for bytes that are not UTF-8
        return f"The refresh command left a file whose name is not UTF-8 ({name!r}), which GitHub cannot take."
    target = root / name
    inside = os.path.realpath(target.parent) == os.path.join(os.path.realpath(root), os.path.dirname(name)).rstrip("/")
    if path.endswith("/") or not inside:  # a nested repository, or a path through a link to elsewhere
        return f"The refresh command left {name}, which is not a plain file mlbot can propose."
    if not os.path.lexists(target):
        return None  # deleted
    info = target.lstat()
    if not stat.S_ISREG(info.st_mode):  # a symlink would make mlbot read and publish whatever it points at
        return f"The refresh command left {name}, which is not a plain file mlbot can propose."
    if info.st_size > MAX_FILE_BYTES:
        return (f"The refresh command wrote {name} with {info.st_size // (1024 * 1024)} MB, more than the "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB mlbot proposes in one file; keep large data in Git LFS or "
                "an external store.")
    return None
