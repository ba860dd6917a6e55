"""Make a log safe to show on a pull request: redact secrets, cap it, fence it.

A training log is written by the pull request's code (or echoes it), so it is hostile text: it may
hold a secret the bot knows, a token-shaped string, HTML, an @mention that would notify someone,
or a forged `<!-- mlbot:... -->` marker. `redact` replaces secrets; `log_for_comment` also caps the
text and shows it in `report.fence_block`, a code fence nothing in the text can close.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.report import fence_block

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter values would redact ordinary words; nobody configures a 3-character secret
LINE_OF_SECRET = 16  # a line of a multi-line secret (a PEM key) long enough to redact on its own
DEFAULT_LIMIT = 6000

PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
                       re.DOTALL)
TOKEN_PATTERNS = (
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),  # GitHub tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWTs (App tokens)
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key ids
)
# `NAME_SECRET=value`, `password: value`: an environment dump or a config echoed by a script
KEY_VALUE = re.compile(r"(?i)\b([\w.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
                       r"\s*[=:]\s*[\"']?)(?!\[redacted\])[^\s\"',;&]+")
AUTH_HEADER = re.compile(r"(?im)\b((?:proxy-)?authorization\s*[:=]\s*)\S.*$")
URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
# ANSI escapes, stray control characters, and invisible format characters that could split a secret
HIDDEN = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every given secret value and anything that looks like a credential with `[redacted]`."""
    text = PEM_BLOCK.sub(REDACTED, clean(text))
    for value in secret_values(secrets):
        text = text.replace(value, REDACTED)
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    return KEY_VALUE.sub(lambda m: m.group(1) + REDACTED, text)


def secret_values(secrets: Iterable[str]) -> list[str]:
    """Return the strings to redact, longest first: each value, and each long line of a multi-line one."""
    values: set[str] = set()
    for secret in secrets:
        if secret and len(secret.strip()) >= MIN_SECRET:
            values.add(secret.strip())
            values.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= LINE_OF_SECRET)
    return sorted(values, key=len, reverse=True)


def cap(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """Keep the last `limit` characters (errors come last), cut at a line start, saying how much was cut."""
    if len(text) <= limit:
        return text
    kept = text[-limit:]
    if "\n" in kept:
        kept = kept[kept.index("\n") + 1:]
    return f"[{len(text) - len(kept)} earlier characters cut]\n{kept}"


def clean(text: str) -> str:
    """Drop terminal escapes, control and invisible characters (they could split a secret from its pattern)."""
    return HIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def log_for_comment(text: str, secrets: Iterable[str] = (), limit: int = DEFAULT_LIMIT) -> str:
    """Return `text` redacted, capped to `limit` characters and fenced: safe inside a PR comment."""
    # redact before cutting (a cut through a secret leaves a fragment no pattern recognises), fence last
    # (its zero-width joiners must not split a secret before it is found)
    return fence_block(cap(redact(text, secrets), limit))
