"""The comment grammar, table by table: what counts as a command and what it says."""

from __future__ import annotations

import pytest

from bot.core.commands import (
    COMMANDS,
    CommandError,
    ParsedCommand,
    parse_comment,
    render_help,
    validate_retrain_params,
)
from bot.core.errors import UsageError


def verbs(body: str) -> list[str]:
    """The verbs found, with a leading `!` for errors."""
    return [r.verb if isinstance(r, ParsedCommand) else "!" + (r.suggestion or "?")
            for r in parse_comment(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/retrain", ["retrain"]),
        ("   /report", ["report"]),
        ("/Help", ["help"]),
        ("please /retrain", []),  # not at the start of a line
        ("see `/retrain`", []),
        ("/retrain\n/gates\r\n/report", ["retrain", "gates", "report"]),
        ("/retrain\r\n", ["retrain"]),
        ("```\n/retrain\n```\n/gates", ["gates"]),
        ("```python title=x\n/retrain\n```", []),
        ("~~~\n/retrain\n~~~\n/report", ["report"]),
        ("~~~\n/retrain\n```\n/report", []),  # a ``` does not close a ~~~ fence
        ("````\n```\n/retrain\n````\n/gates", ["gates"]),  # closing fence at least as long
        ("```\n/retrain", []),  # unclosed fence: the rest is code
        ("```\n/retrain\n``` not a close\n/gates\n```\n/help", ["help"]),
        ("``` inline ``` text\n/gates", ["gates"]),  # backtick info string with ` is not a fence
        ("    /retrain", []),  # indented code
        ("\t/retrain", []),
        ("> /retrain", []),
        (">/retrain\n> > /promote", []),
        ("<!-- /retrain -->\n/gates", ["gates"]),
        ("<!--\n/retrain\n-->\n/report", ["report"]),
        ("@mlbot retrain", ["retrain"]),
        ("@mlbot /gates", ["gates"]),
        ("@MLBOT: help", ["help"]),
        ("@mlbot, report", ["report"]),
        ("@mlbot", []),
        ("@mlbotx gates", []),
        ("@mlbot[bot] gates", []),
        ("thanks @mlbot retrain", []),
        ("/usr/bin/python is broken", []),
        ("/tmp is full", []),
        ("/shrug", []),
        ("https://example.com/retrain", []),
        ("/retrain, please", []),  # `/retrain,` is not the verb followed by a space
        ("/retrian", ["!/retrain"]),
        ("/promte --force", ["!/promote"]),
        ("/rollbak", ["!/rollback"]),
        ("/ok-to-retrian", ["!/ok-to-retrain"]),
        ("@mlbot dance", ["!?"]),
        ("@mlbot retrian", ["!/retrain"]),
    ],
)
def test_which_lines_are_commands(body: str, expected: list[str]) -> None:
    assert verbs(body) == expected


def one(body: str) -> ParsedCommand:
    [result] = parse_comment(body)
    assert isinstance(result, ParsedCommand), result
    return result


def error(body: str) -> str:
    [result] = parse_comment(body)
    assert isinstance(result, CommandError), result
    return result.message


@pytest.mark.parametrize(
    ("body", "args"),
    [
        ("/retrain", {}),
        ("/retrain n_estimators=300 max_depth=5", {"n_estimators": "300", "max_depth": "5"}),
        ('/retrain criterion="log loss"', {"criterion": "log loss"}),
        ("/retrain max_depth=null", {"max_depth": "null"}),
        ("@mlbot retrain n_estimators=10", {"n_estimators": "10"}),
        ("/retrain clf.C=0.5", {"clf.C": "0.5"}),
    ],
)
def test_retrain_arguments(body: str, args: dict[str, str]) -> None:
    assert one(body).args == args


@pytest.mark.parametrize(
    ("body", "flags", "reason", "version"),
    [
        ("/promote", set(), None, None),
        ("/promote --force", {"force"}, None, None),
        ('/promote --force --reason "CI flaked, checked"', {"force"}, "CI flaked, checked", None),
        ('/promote --reason "CI flaked" --force', {"force"}, "CI flaked", None),
        ("/promote --reason the CI flaked --force", set(), "the CI flaked --force", None),
        ("/promote --force --reason don't wait", {"force"}, "don't wait", None),
        ("/promote --reason='quoted' --force", {"force"}, "quoted", None),
        ("/promote --reason=rest of line", set(), "rest of line", None),
        ("/rollback", set(), None, None),
        ("/rollback v3", set(), None, 3),
        ("/rollback 12 --reason latency regression", set(), "latency regression", 12),
        ("/rollback --reason \"bad\" V2", set(), "bad", 2),
    ],
)
def test_flags_reasons_versions(body: str, flags: set[str], reason: str | None, version: int | None) -> None:
    command = one(body)
    assert (set(command.flags), command.reason, command.version) == (flags, reason, version)


PROMOTE = "usage: `/promote [--force] [--reason TEXT]`"
RETRAIN = "usage: `/retrain [key=value ...]`"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("/retrain 300", "`300` is not a `key=value` pair; usage: `/retrain [key=value ...]`"),
        ("/retrain =3", "`=3` is not a `key=value` pair; usage: `/retrain [key=value ...]`"),
        ("/retrain a=1 a=2", "`a` is given twice; usage: `/retrain [key=value ...]`"),
        ('/retrain a="open', "`/retrain` has an unclosed quote; usage: `/retrain [key=value ...]`"),
        ("/report now", "`/report` does not take `now`; usage: `/report`"),
        ("/retrain --force", "`/retrain` has no option `--force`; usage: `/retrain [key=value ...]`"),
        ("/promote --yes", "`/promote` has no option `--yes`; usage: `/promote [--force] [--reason TEXT]`"),
        ("/promote --reason", f"`/promote --reason` needs a text; {PROMOTE}"),
        ('/promote --reason ""', f"`/promote --reason` needs a text; {PROMOTE}"),
        ("/rollback v1 v2", "`/rollback` does not take `v2`; usage: `/rollback [vN] [--reason TEXT]`"),
        ("/rollback latest", "`/rollback` does not take `latest`; usage: `/rollback [vN] [--reason TEXT]`"),
        ("/retrian", "I don't know the command `/retrian`; did you mean `/retrain`?"),
        ("@mlbot dance", "I don't know the command `dance`; comment `/help` to see what I can do."),
        ("@mlbot `<b>`x", "I don't know the command `` `<\u200db>`x ``; comment `/help` to see what I can do."),
        ("/retrain " + "k" * 50, f"`{'k' * 39}…` is not a `key=value` pair; {RETRAIN}"),
    ],
)
def test_error_messages(body: str, message: str) -> None:
    assert error(body) == message


def test_several_commands_keep_their_line_numbers() -> None:
    body = "Looks good.\r\n\r\n/retrain max_depth=4\r\n```\r\n/promote\r\n```\r\n/retrian\r\n@mlbot report"
    results = parse_comment(body)
    assert [(type(r).__name__, r.line) for r in results] == [
        ("ParsedCommand", 3), ("CommandError", 7), ("ParsedCommand", 8)]
    assert isinstance(results[1], CommandError) and results[1].text == "/retrian"


def test_at_most_ten_commands_per_comment() -> None:
    results = parse_comment("/gates\n" * 12)
    assert [r.verb for r in results if isinstance(r, ParsedCommand)] == ["gates"] * 10
    assert isinstance(results[-1], CommandError) and results[-1].line == 11
    assert results[-1].message == ("I run at most 10 commands per comment; the rest were ignored, please "
                                   "split them over several comments.")


def test_custom_mention() -> None:
    assert verbs("@acme-bot gates\n@mlbot report", ) == ["report"]
    assert [r.verb for r in parse_comment("@acme-bot gates", bot_mention="acme-bot")
            if isinstance(r, ParsedCommand)] == ["gates"]


def test_help_is_generated_from_the_registry() -> None:
    text = render_help()
    for spec in COMMANDS.values():
        assert f"| `{spec.usage}` | {spec.summary} |" in text
    assert "| `/promote [--force] [--reason TEXT]` |" in text
    assert "maintain or admin permission, or a login in `commands.promoters`" in text
    assert text.count("\n|") == len(COMMANDS) + 2


CURRENT = {"n_estimators": 200, "max_depth": None, "learning_rate": 0.1, "bootstrap": True,
           "criterion": "gini", "class_weight": {"a": 1}}
ALLOWED = list(CURRENT)


@pytest.mark.parametrize(
    ("args", "typed"),
    [
        ({}, {}),
        ({"n_estimators": "300"}, {"n_estimators": 300}),
        ({"max_depth": "null"}, {"max_depth": None}),
        ({"max_depth": "5"}, {"max_depth": 5}),
        ({"max_depth": "0.5"}, {"max_depth": 0.5}),
        ({"max_depth": "sqrt"}, {"max_depth": "sqrt"}),
        ({"learning_rate": "1e-3"}, {"learning_rate": 0.001}),
        ({"learning_rate": "2"}, {"learning_rate": 2.0}),
        ({"bootstrap": "false"}, {"bootstrap": False}),
        ({"bootstrap": "yes"}, {"bootstrap": True}),
        ({"criterion": "entropy"}, {"criterion": "entropy"}),
    ],
)
def test_retrain_params_are_typed_like_the_config(args: dict[str, str], typed: dict[str, object]) -> None:
    result = validate_retrain_params(args, ALLOWED, CURRENT)
    assert result == typed
    assert [type(v) for v in result.values()] == [type(v) for v in typed.values()]


@pytest.mark.parametrize(
    ("args", "allowed", "message"),
    [
        ({"evil": "1"}, ["n_estimators", "max_depth"],
         "evil is not a parameter /retrain may change; allowed: n_estimators, max_depth"),
        ({"n_estimators": "1"}, [],
         "n_estimators is not a parameter /retrain may change; allowed: none (set commands.retrain_params "
         "in mlbot.yaml)"),
        ({"n_estimators": "abc"}, ALLOWED, "n_estimators=abc is not an integer"),
        ({"n_estimators": "2.5"}, ALLOWED, "n_estimators=2.5 is not an integer"),
        ({"n_estimators": "null"}, ALLOWED,
         "n_estimators cannot be null: its configured value is an integer"),
        ({"learning_rate": "fast"}, ALLOWED, "learning_rate=fast is not a number"),
        ({"bootstrap": "maybe"}, ALLOWED, "bootstrap=maybe is not a boolean (true/false)"),
        ({"class_weight": "x"}, ALLOWED,
         "class_weight is a dict in mlbot.yaml and cannot be set from a comment"),
    ],
)
def test_retrain_params_refused(args: dict[str, str], allowed: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        validate_retrain_params(args, allowed, CURRENT)
    assert raised.value.message == message
    assert raised.value.hint
