"""`mlbot init`: scaffold mlbot.yaml, the default policy and the training workflow into a repo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.core.errors import UsageError

_SYMBOLS = {"created": "+", "overwritten": "!", "unchanged": "=", "kept": "~", "updated": "^"}


def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Repository to set up.")] = Path("."),
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="FILE", help="CSV or Parquet with the features and the target.")] = None,
    target: Annotated[str | None, typer.Option(
        "--target", metavar="COLUMN", help="The column to predict (default: target, label, y, class, "
        "outcome, else the last column).")] = None,
    eval_data: Annotated[Path | None, typer.Option(
        "--eval", metavar="FILE", help="Fixed evaluation rows; without it --data is split 80/20 into data/.")] = None,
    policy: Annotated[str, typer.Option(
        "--policy", metavar="NAME", help="Which shipped policy to start from: default, reviewed, strict, "
        "exploratory (policies/README.md in mlbot says what each gates).")] = "default",
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
    upgrade: Annotated[bool, typer.Option(
        "--upgrade", help="Only move the repository's workflows to this mlbot's version.")] = False,
) -> None:
    """Scaffold mlbot.yaml, policies/ and .github/workflows/mlbot-train.yml into a repository."""
    if upgrade:
        if data is not None or eval_data is not None or target is not None or force or policy != "default":
            raise UsageError("--upgrade only moves the workflows to this mlbot's version",
                             hint="run `mlbot init --upgrade` alone, or `mlbot init` without --upgrade")
        _upgrade(directory)
        return
    from bot.scaffold import init_project, next_steps

    result = init_project(directory, data=data, eval_data=eval_data, target=target, force=force, policy=policy)
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
    for number, step in enumerate(next_steps(directory, result.data), start=1):
        typer.echo(f"  {number}. {step}")


def _upgrade(directory: Path) -> None:
    from bot.scaffold import install_spec, upgrade_workflows

    done = upgrade_workflows(directory)
    if not done:
        raise UsageError(f"no workflow in {directory / '.github/workflows'} installs mlbot",
                         hint="run `mlbot init` first")
    for item in done:
        was = ", ".join(item.before)
        verb = f"now installs {item.after} (was {was})" if item.changed else f"already installs {item.after}"
        typer.echo(f"  {'^' if item.changed else '='} {item.path.as_posix()}: {verb}")
    if any(item.changed for item in done):
        typer.echo(f"\nNext: commit the workflows; their jobs install {install_spec()} from now on.")
    else:
        typer.echo(f"Nothing changed: every workflow already installs {install_spec()}")


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command("init")(init)
