"""Path filters: does a pull request touch what `ci.paths` watches, or the bot's own rules?

Patterns follow GitHub Actions' `paths` filter: `*` matches within one path segment, `**` across
segments, `?` one character; a pattern ending in `/` or naming a directory matches everything
below it; a leading `!` excludes, and the last pattern that matches a file decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

CONFIG_FILE = "mlbot.yaml"
POLICIES_DIR = "policies/"


def normalize(path: str) -> str:
    """Drop `./` and leading slashes so repository paths and patterns compare equal."""
    path = path.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.lstrip("/")


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Translate one glob pattern (without `!`) into a regular expression over whole paths."""
    glob = normalize(pattern)
    if glob.endswith("/"):
        glob += "**"
    out: list[str] = []
    index = 0
    while index < len(glob):
        char = glob[index]
        if glob.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif glob.startswith("**", index):
            out.append(".*")
            index += 2
        elif char == "*":
            out.append("[^/]*")
            index += 1
        elif char == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(char))
            index += 1
    # a pattern naming a directory (`src`, `data/raw`) also matches the files below it;
    # one ending in a wildcard (`src/*`) stays within its segment, as in GitHub Actions
    last = glob.rsplit("/", 1)[-1]
    below = "" if "*" in last or "?" in last else "(?:/.*)?"
    return re.compile("".join(out) + below)


def matches(path: str, pattern: str) -> bool:
    """Return whether one path matches one glob pattern (a `!` pattern is matched without its `!`)."""
    return compile_pattern(pattern.removeprefix("!")).fullmatch(normalize(path)) is not None


def included(path: str, patterns: Iterable[str]) -> bool:
    """Apply the patterns in order: the last one that matches decides (`!` excludes)."""
    decision = False
    for pattern in patterns:
        if pattern.strip() and matches(path, pattern):
            decision = not pattern.startswith("!")
    return decision


def watched_files(changed: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """Return the changed files that `ci.paths` watches, in the order given."""
    rules = list(patterns)
    return [path for path in changed if included(path, rules)]


def needs_retraining(changed: Iterable[str], patterns: Iterable[str]) -> bool:
    """Return whether a pull request changing these files should be retrained."""
    return bool(watched_files(changed, patterns))


def edited_policies(changed: Iterable[str]) -> list[str]:
    """Return the changed files under `policies/` (their edits apply only after merge)."""
    return [path for path in changed if normalize(path).startswith(POLICIES_DIR)]


def governance_edits(changed: Iterable[str]) -> list[str]:
    """Return the changed files that change the bot's own rules: mlbot.yaml and policies/."""
    files = list(changed)
    return [path for path in files if normalize(path) == CONFIG_FILE or path in edited_policies(files)]
