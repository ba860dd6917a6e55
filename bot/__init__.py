"""mlbot: a GitOps bot for machine-learning repositories."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

# The name on the package index; the import package is `bot` and the command `mlbot`.
DISTRIBUTION = "mlbot-gitops"
# What a source tree that was never installed reports (setuptools-scm's fallback, marked local).
UNKNOWN_VERSION = "0.0.0+unknown"


def _installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return UNKNOWN_VERSION


__version__ = _installed_version()
