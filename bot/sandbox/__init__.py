"""A local GitHub stand-in: REST subset, bare git repositories, signed webhooks (SPEC §8)."""

from __future__ import annotations

from bot.sandbox.github import SandboxGitHub
from bot.sandbox.server import SandboxServer

__all__ = ["SandboxGitHub", "SandboxServer"]
