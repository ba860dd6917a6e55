"""Every piece of advice mlbot prints names something that exists: `mlbot …` commands with their
options, and the comment commands it tells a user to write (issue 18: "the advice mlbot prints is tested to work").

The advice is read from mlbot's own source (hints, messages, report templates), so new advice is checked
without anyone adding it here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from bot.cli import app
from bot.core.commands import ParsedCommand, parse_comment

BOT = Path(__file__).resolve().parents[2] / "bot"
SOURCES = sorted(p for p in BOT.rglob("*") if p.suffix in {".py", ".j2", ".md"} and "__pycache__" not in p.parts)
CLI_ADVICE = re.compile(r"`(mlbot [a-z][^`\n]*)`")
COMMENT_ADVICE = re.compile(r"comment `(/[^`\n]+)`")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")  # an f-string's field: a model name, a sha
SAMPLES = {"sha": "0123456789ab", "model": "churn", "delivery": "d-1"}


def sample(text: str) -> str:
    """Fill an f-string's fields with plausible values (a sha where a sha goes, else a word)."""
    def value(field: re.Match[str]) -> str:
        return next((v for k, v in SAMPLES.items() if k in field.group(0)), "x")
    return PLACEHOLDER.sub(value, text)


def advice(pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    found = {(match.group(1), f"{path.relative_to(BOT.parent)}") for path in SOURCES
             for match in pattern.finditer(path.read_text(encoding="utf-8"))}
    return sorted(found)


CLI = advice(CLI_ADVICE)
COMMENTS = advice(COMMENT_ADVICE)


def test_the_source_gives_advice_to_check() -> None:
    assert len(CLI) >= 10 and len(COMMENTS) >= 4


@pytest.mark.parametrize(("text", "where"), CLI, ids=[f"{w}:{t}" for t, w in CLI])
def test_each_mlbot_command_advised_exists_with_those_options(text: str, where: str) -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    words = sample(text).split()
    command = commands.get(words[1])
    assert command is not None, f"{where} advises `{text}`, but mlbot has no command {words[1]!r}"
    options = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
    for word in words[2:]:
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            assert option in options, f"{where} advises `{text}`, but `mlbot {words[1]}` has no {option}"


@pytest.mark.parametrize(("text", "where"), COMMENTS, ids=[f"{w}:{t}" for t, w in COMMENTS])
def test_each_comment_command_advised_parses(text: str, where: str) -> None:
    parsed = parse_comment(sample(text).replace("[SHA]", "0123456789ab"))
    assert [type(p) for p in parsed] == [ParsedCommand], f"{where} advises `{text}`: {parsed}"


@pytest.mark.parametrize("argv", [["train", "--project", "{d}"], ["report", "--project", "{d}", "--sha", "abc"],
                                  ["gates", "--project", "{d}", "--sha", "abc"], ["check", "{d}"],
                                  ["promote", "--project", "{d}", "--sha", "abc"]], ids=lambda a: a[0])
def test_a_missing_mlbot_yaml_is_met_with_options_the_command_has(argv: list[str], tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   tracking_uri: str) -> None:
    from tests.cli import run_mlbot

    result = run_mlbot(capsys, *[a.replace("{d}", str(tmp_path / "empty")) for a in argv])
    assert result.code == 2 and "mlbot.yaml: file not found" in result.err
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    options = {name for param in commands[argv[0]].params for name in param.opts}
    advised = re.findall(r"(?<![\w-])--[a-z][a-z-]*", result.err)
    assert set(advised) <= options, f"`mlbot {argv[0]}` advises {advised}: {result.err}"
