"""The `mlbot` command line: composition of the command groups and the one error boundary."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from bot.core.errors import ConfigError, MlbotError

from . import demo, init, registry, sandbox, serve, train, watch

app = typer.Typer(
    name="mlbot",
    help="GitOps for ML models: retrain on pull requests, compare honestly, gate, promote in MLflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: flags show no `<bool>` type, required options say `[required]`.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for group in (train, registry, watch, serve, sandbox, init, demo):
    group.register(app)


def _print_version(show: bool) -> None:
    if show:
        from bot import __version__

        typer.echo(f"mlbot {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    _version: Annotated[bool, typer.Option(
        "--version", help="Print mlbot's version and exit.", callback=_print_version, is_eager=True)] = False,
) -> None:
    """GitOps for ML models: retrain on pull requests, compare honestly, gate, promote in MLflow."""


@app.command(hidden=True)
def version() -> None:
    """Print mlbot's version."""
    _print_version(True)

log = logging.getLogger("mlbot")


def echo_error(error: MlbotError) -> None:
    """Print a known failure as one sentence per problem, plus the next step."""
    if isinstance(error, ConfigError):
        for problem in error.problems:
            typer.echo(f"error: {problem}", err=True)
    else:
        typer.echo(f"error: {error.message}", err=True)
    if error.hint:
        typer.echo(f"  next: {error.hint}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; known failures print a sentence, unexpected ones a short apology and a log path."""
    try:
        # Standalone mode: typer shows its own usage errors (exit 2) and honours typer.Exit codes;
        # our exceptions pass through to the lines below.
        app(args=argv, prog_name="mlbot")
    except MlbotError as error:
        echo_error(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # the boundary: never a traceback to the user
        crash_log = Path(".mlbot") / "crash.log"
        try:
            crash_log.parent.mkdir(parents=True, exist_ok=True)
            crash_log.write_text("".join(traceback.format_exception(error)))
            where = f"details in {crash_log}"
        except OSError:
            where = "run again with MLBOT_DEBUG=1 for details"
        typer.echo(f"error: something unexpected went wrong ({type(error).__name__}: {error}); {where}",
                   err=True)
        sys.exit(1)
