"""`mlbot init`: scaffold mlbot.yaml, the default policy and the training workflow into a repo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

_SYMBOLS = {"created": "+", "overwritten": "!", "unchanged": "=", "kept": "~"}


def init(
    directory: Annotated[Path, typer.Argument(help="Repository to set up.")] = Path("."),
    data: Annotated[Path | None, typer.Option(
        "--data", help="CSV or Parquet with the features and the target.")] = None,
    target: Annotated[str | None, typer.Option("--target", help="The column to predict.")] = None,
    eval_data: Annotated[Path | None, typer.Option(
        "--eval", help="Fixed evaluation rows; without it --data is split 80/20 into data/.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
) -> None:
    """Scaffold mlbot.yaml, policies/ and .github/workflows/mlbot-train.yml into a repository."""
    from bot.scaffold import init_project, next_steps

    result = init_project(directory, data=data, eval_data=eval_data, target=target, force=force)
    for note in result.notes:
        typer.echo(f"note: {note}")
    for outcome in result.outcomes:
        detail = " (exists and differs; --force overwrites it)" if outcome.action == "kept" else ""
        typer.echo(f"  {_SYMBOLS[outcome.action]} {outcome.path.as_posix()}: {outcome.action} — "
                   f"{outcome.what}{detail}")
    if not result.changed:
        typer.echo(f"Nothing changed: mlbot is already set up in {directory.resolve()}")
        return
    typer.echo("\nNext steps:")
    for number, step in enumerate(next_steps(directory), start=1):
        typer.echo(f"  {number}. {step}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command("init")(init)
