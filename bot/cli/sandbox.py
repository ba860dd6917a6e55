"""`mlbot sandbox`: run the local GitHub stand-in in the foreground."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from bot.core.errors import UsageError


def register(app: typer.Typer) -> None:
    """Add this group's commands to `app`."""
    app.command(name="sandbox")(sandbox)


def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 0,
    state_dir: Annotated[Path | None, typer.Option(
        help="Where the bare git repositories live (default: a temporary directory).")] = None,
    webhook_url: Annotated[str | None, typer.Option(
        help="Where to deliver webhooks, e.g. http://127.0.0.1:8000/webhook.")] = None,
    webhook_secret: Annotated[str | None, typer.Option(help="Secret that signs the webhooks.")] = None,
    bot_login: Annotated[str, typer.Option(help="Login the bot's token acts as.")] = "mlbot[bot]",
    bot_token: Annotated[str, typer.Option(help="Token acting as the bot.")] = "sandbox-bot-token",
    repo: Annotated[list[str] | None, typer.Option(
        help="Create an empty repository OWNER/NAME at start (repeatable).")] = None,
) -> None:
    """Run the local GitHub stand-in (REST subset, bare git repos, signed webhooks) until Ctrl-C."""
    from bot.sandbox import SandboxServer

    if webhook_url and not webhook_secret:
        raise UsageError("--webhook-url needs --webhook-secret: mlbot rejects unsigned webhooks",
                         hint="pass the same secret as MLBOT_WEBHOOK_SECRET")
    with tempfile.TemporaryDirectory(prefix="mlbot-sandbox-") as scratch:
        root = state_dir or Path(scratch)
        server = SandboxServer(root, webhook_url, webhook_secret, bot_login=bot_login, bot_token=bot_token,
                               host=host, port=port)
        for full_name in repo or []:
            if full_name.count("/") != 1:
                raise UsageError(f"--repo {full_name!r} is not OWNER/NAME", hint="e.g. --repo acme/churn")
            server.github.create_repo(full_name)
        try:
            server.start()
        except OSError as error:
            raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}",
                             hint="pick another --port, or 0 for a free one") from error
        typer.echo(f"sandbox GitHub API at {server.api_url}  (repositories in {root})")
        typer.echo(f"  bot token: {bot_token}   as {bot_login}")
        typer.echo(f"  MLBOT_GITHUB_API_URL={server.api_url} MLBOT_GITHUB_TOKEN={bot_token}")
        typer.echo(f"  webhooks -> {webhook_url or '(none: set --webhook-url)'}; Ctrl-C to stop")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("stopping the sandbox")
        finally:
            server.stop()
