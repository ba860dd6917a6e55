"""What `mlbot --version`, `-h` and each command's help show a newcomer (exact texts pinned)."""

from __future__ import annotations

import pytest

from bot import __version__
from tests.cli import run_mlbot

COMMANDS = ["train", "check", "report", "gates", "promote", "rollback", "history", "serve", "worker",
            "sandbox", "init", "demo"]


def test_version_prints_the_distribution_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert tuple(run_mlbot(capsys, "--version")) == (0, f"mlbot {__version__}\n", "")


def test_dash_h_is_help(capsys: pytest.CaptureFixture[str]) -> None:
    short, long = run_mlbot(capsys, "-h"), run_mlbot(capsys, "--help")
    assert short.code == 0 and short.out == long.out
    assert "--version   Print mlbot's version and exit." in short.out
    assert "-h, --help  Show this message and exit." in short.out


@pytest.mark.parametrize("command", COMMANDS)
def test_help_never_shows_a_flag_as_taking_a_value(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_mlbot(capsys, command, "-h")
    assert result.code == 0, result.err
    assert "<bool>" not in result.out and "Usage: mlbot " + command in result.out


@pytest.mark.parametrize("command", ["report", "gates", "promote"])
def test_commands_judging_a_candidate_say_run_or_sha(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(run_mlbot(capsys, command, "-h").out.split())
    assert "--run RUN_ID MLflow run id of the candidate (give one of --run/--sha)." in out
    assert "--sha SHA Commit whose newest run is the candidate (give one of --run/--sha)." in out


def test_required_options_are_marked(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(run_mlbot(capsys, "rollback", "-h").out.split())
    assert "--reason TEXT Why; recorded in the ledger. [required]" in out


def test_train_help_names_what_each_option_takes(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_mlbot(capsys, "train", "-h").out
    for option in ("-p, --project DIR", "--sha SHA", "--pr N", "--param NAME=VALUE", "--params JSON",
                   "--force  "):
        assert option in out


def test_init_help_lists_upgrade_as_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_mlbot(capsys, "init", "-h").out
    assert "--upgrade" in out and "--force" in out and "--data FILE" in out and "--target COLUMN" in out


def test_gate_verdicts_in_the_text_output_are_all_capitals() -> None:
    from bot.cli.registry import MARKS

    assert all(mark == mark.upper() for mark in MARKS.values())
