"""Shared fixtures: every test gets its own MLflow store and working directory state."""

from __future__ import annotations

import os
import urllib.parse
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


@pytest.fixture
def redis_url():
    base = os.environ.get("MLBOT_TEST_REDIS_URL")
    if not base:
        pytest.skip("MLBOT_TEST_REDIS_URL is not set (e.g. redis://localhost:6379): Redis path untested")
    parts = urllib.parse.urlsplit(base)
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/15", "", ""))  # db 15, flushed per test
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


# End-to-end suites: the sandbox, `mlbot serve` and MLflow together, seconds per test. `make unit`
# leaves them out (`-m "not slow"`); `make test` and CI run them.
SLOW_SUITES = ("flows", "demo")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(f"/tests/{suite}/" in str(item.path) for suite in SLOW_SUITES):
            item.add_marker(pytest.mark.slow)
