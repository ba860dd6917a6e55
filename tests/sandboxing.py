"""The tests that prove the sandbox need bubblewrap: skipped with the remedy locally, a failure in CI."""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL = "install it with `apt-get install bubblewrap` (or run `make sandbox-tool`)"


def require_bwrap() -> None:
    """Skip (or, under CI=true, fail loudly) when `bwrap` is not on PATH."""
    if shutil.which("bwrap"):
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"bubblewrap is missing in CI, so the trust boundary is untested: {INSTALL}")
    pytest.skip(f"bubblewrap is not installed: {INSTALL}")


@pytest.fixture
def bwrap() -> None:
    """Require bubblewrap for this test."""
    require_bwrap()
