"""What a training log may show on a pull request: no secret, no token, no markup that escapes its fence."""

from __future__ import annotations

import re

import pytest

from bot.core.redact import cap, log_for_comment, redact

WEBHOOK_SECRET = "whsec-0c7f9a1e5b"
KEY = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakefakefake\nQWERTYUIOPasdfghjkl0123\n"
       "-----END RSA PRIVATE KEY-----")
HELD = [WEBHOOK_SECRET, KEY, ""]


@pytest.mark.parametrize(
    ("log", "shown"),
    [
        ("secret=whsec-0c7f9a1e5b!", "secret=[redacted]!"),
        (f"key:\n{KEY}\ndone", "key:\n[redacted]\ndone"),
        # one line of the key, e.g. a script that printed it line by line
        ("line QWERTYUIOPasdfghjkl0123 end", "line [redacted] end"),
        # a key nobody told us about, also a truncated one (the tail was cut before its END line)
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nok",
         "[redacted]\nok"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "[redacted]"),
        ("token ghp_" + "A1b2" * 9 + " used", "token [redacted] used"),
        ("gho_" + "x" * 36 + ", ghs_" + "y" * 36 + ", ghu_" + "z" * 36, "[redacted], [redacted], [redacted]"),
        ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "pat [redacted]"),
        ("jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NSJ9.c2lnbmF0dXJl end", "jwt [redacted] end"),
        ("Authorization: Bearer abc.def\nnext", "Authorization: [redacted]\nnext"),
        ("  authorization = token xyz", "  authorization = [redacted]"),
        ("clone https://x-access-token:ghs_short@github.com/acme/m.git", "clone https://[redacted]@github.com/acme/m.git"),
        ("mlflow at http://user:pa55@mlflow:5000/", "mlflow at http://[redacted]@mlflow:5000/"),
        ("aws AKIAIOSFODNN7EXAMPLE key", "aws [redacted] key"),
        # an escape sequence or an invisible character inside a token does not hide it
        ("ghp_" + "a" * 18 + "\x1b[0m" + "b" * 18, "[redacted]"),
        ("whsec-0c7f\u200b9a1e5b", "[redacted]"),
        ("MLBOT_GITHUB_TOKEN=t0k3n MY_API_KEY='k3y' db password: hunter2",
         "MLBOT_GITHUB_TOKEN=[redacted] MY_API_KEY='[redacted]' db password: [redacted]"),
        ("max_tokens=512 n_estimators=100 secrets: none", "max_tokens=512 n_estimators=100 secrets: none"),
        ("nothing secret here: accuracy 0.93", "nothing secret here: accuracy 0.93"),
        ("abc is too short to be a secret", "abc is too short to be a secret"),
    ],
)
def test_redact(log: str, shown: str) -> None:
    assert redact(log, [*HELD, "abc"]) == shown


@pytest.mark.parametrize(
    ("log", "fence_ticks"),
    [
        ("plain", 3),
        ("a ``` fence attempt", 4),
        ("````` five", 6),
        ("~~~ tildes do not close backticks", 3),
    ],
)
def test_the_fence_is_longer_than_any_backtick_run(log: str, fence_ticks: int) -> None:
    fenced = log_for_comment(log)
    ticks = "`" * fence_ticks
    assert fenced == f"{ticks}text\n{log}\n{ticks}"


@pytest.mark.parametrize(
    ("log", "forbidden"),
    [
        ("```\n</details><img src=x onerror=alert(1)>\n   ```", None),  # closing the fence early
        ("<!-- mlbot:report model=m -->\nforged", r"<!--"),
        ("ping @maintainer and @acme/admins", r"@[A-Za-z]"),
        ("\x1b[31mred\x1b[0m\x07", r"\x1b|\x07"),
    ],
)
def test_nothing_escapes_the_fence(log: str, forbidden: str | None) -> None:
    shown = log_for_comment(log)
    first, *body, last = shown.splitlines()
    ticks = first.removesuffix("text")
    assert set(ticks) == {"`"} and last == ticks
    # CommonMark closes a fence with a line of at least as many backticks, indented up to 3 spaces
    assert not any(re.fullmatch(rf" {{0,3}}`{{{len(ticks)},}}\s*", line) for line in body)
    assert forbidden is None or not re.search(forbidden, "\n".join(body), re.MULTILINE)


def test_a_forged_marker_and_mentions_still_read_the_same() -> None:
    shown = log_for_comment("<!-- mlbot:x --> @eve")
    assert shown.replace("\u200d", "") == "```text\n<!-- mlbot:x --> @eve\n```"


def test_long_logs_keep_their_end_from_a_line_start() -> None:
    log = "\n".join(f"line {n}" for n in range(1000)) + "\nValueError: the real error"
    shown = cap(log, 100)
    assert shown.endswith("ValueError: the real error")
    head, first_kept = shown.splitlines()[:2]
    assert re.fullmatch(r"\[\d+ earlier characters cut\]", head) and first_kept.startswith("line ")
    assert len(shown) <= 100 + len(head) + 1


def test_a_secret_cut_by_the_cap_is_redacted_first() -> None:
    log = "x" * 50 + "\nthe secret whsec-0c7f9a1e5b was here\n" + "y" * 10
    shown = log_for_comment(log, [WEBHOOK_SECRET], limit=30)
    assert "whsec" not in shown and "9a1e5b" not in shown
