"""Fixtures shared with the registry and GitHub tests: MLflow SQLite in tmp_path, the sandbox over HTTP."""

from __future__ import annotations

from tests.github.conftest import make_forge, sandbox
from tests.registry.conftest import client, log_run, migrated_store, registry, tracking_uri
from tests.service.conftest import queue_url

__all__ = ["client", "log_run", "make_forge", "migrated_store", "queue_url", "registry", "sandbox",
           "tracking_uri"]
