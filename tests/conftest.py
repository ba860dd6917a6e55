"""Shared fixtures: every test gets its own MLflow store and working directory state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An MLflow store on a SQLite file in tmp_path, with artifacts beside it."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # mlflow puts the default artifact root under the cwd
    yield uri


@pytest.fixture(autouse=True)
def _no_real_github(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may talk to github.com: tests point MLBOT_GITHUB_API_URL at the sandbox."""
    for key in list(os.environ):
        if key.startswith(("MLBOT_GITHUB", "GITHUB_")):
            monkeypatch.delenv(key, raising=False)


# End-to-end suites: the sandbox, `mlbot serve` and MLflow together, seconds per test. `make unit`
# leaves them out (`-m "not slow"`); `make test` and CI run them.
SLOW_SUITES = ("flows", "demo")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(f"/tests/{suite}/" in str(item.path) for suite in SLOW_SUITES):
            item.add_marker(pytest.mark.slow)
