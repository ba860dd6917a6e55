"""`mlbot demo`: the story of a good and a bad pull request, on the sandbox, in a few minutes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from bot.core.errors import UsageError

DEFAULT_WORKDIR = Path(".mlbot") / "demo"


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command(name="demo")(demo)


def example_dir() -> Path:
    """The breast-cancer example: the checkout's examples/, else the copy shipped in the wheel."""
    checkout = Path(__file__).resolve().parents[2] / "examples" / "breast-cancer"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "examples" / "breast-cancer"  # bot.examples


def demo(
    workdir: Annotated[Path, typer.Option(
        "--workdir", help="Where the demo keeps its repositories, queue and MLflow store; wiped on start.",
    )] = DEFAULT_WORKDIR,
    serve: Annotated[bool, typer.Option(
        "--serve", help="Keep the sandbox, the bot and MLflow's store up after the story, until Ctrl-C.",
    )] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Narrate the beats; show only the first line of each bot comment.",
    )] = False,
) -> None:
    """Show why mlbot exists: a better model is promoted, a worse one is stopped, all on this machine."""
    from bot.demo.session import run_demo
    from bot.demo.story import DemoOptions

    example = example_dir()
    if not (example / "mlbot.yaml").is_file():
        raise UsageError(f"the example project is missing ({example})",
                         hint="run the demo from a checkout of mlbot (make demo)")
    width = min(110, max(72, shutil.get_terminal_size((100, 24)).columns))
    options = DemoOptions(workdir=workdir, example=example, quiet=quiet, width=width)
    run_demo(options, typer.echo, serve=serve)
