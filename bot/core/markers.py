"""The bot's hidden markers: written by `write`, read by `read`, and only ever on a comment's first line.

A marker is the whole first line of one of the bot's own comments, `<!-- mlbot:KIND k=v ... -->`.
Field values are percent-encoded outside a small safe alphabet, so no value can close the comment
or start another marker; and since only the first line counts, text the bot echoes further down
(a column name, a log line, a branch name) can never act as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote

_KIND = re.compile(r"^[a-z][a-z-]*$")
_KEY = re.compile(r"^[a-z][a-z_]*$")
SAFE = "-._~@[]/"  # with letters and digits: logins (`mlbot[bot]`), shas, model names
_LINE = re.compile(r"^<!-- mlbot:(?P<kind>[a-z][a-z-]*)(?P<fields>(?: [a-z][a-z_]*=[A-Za-z0-9%._~@\[\]/-]+)*) -->$")


@dataclass(frozen=True)
class Marker:
    kind: str
    fields: dict[str, str]

    def get(self, key: str) -> str:
        return self.fields.get(key, "")


def write(kind: str, **fields: object) -> str:
    """The marker line for `kind` with `fields`, in the given order."""
    if not _KIND.match(kind) or not all(_KEY.match(k) for k in fields):
        raise ValueError(f"not a marker kind or key: {kind} {list(fields)}")
    parts = "".join(f" {key}={quote(str(value), safe=SAFE) or '-'}" for key, value in fields.items())
    return f"<!-- mlbot:{kind}{parts} -->"


def read(body: str) -> Marker | None:
    """The marker on the first line of `body`, if that line is exactly one."""
    first = body.split("\n", 1)[0].rstrip("\r")
    found = _LINE.match(first)
    if found is None:
        return None
    fields = dict(item.split("=", 1) for item in found.group("fields").split())
    return Marker(found.group("kind"), {k: unquote(v) for k, v in fields.items()})


def of_kind(bodies: Iterable[str], kind: str) -> list[Marker]:
    """The markers of `kind` among `bodies` (the bot's own comments), in order."""
    return [m for m in map(read, bodies) if m is not None and m.kind == kind]
