"""GitHub's own examples and schemas, fetched with npm at test time into a git-ignored cache."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "npm"


def npm_package(name: str, version: str = "latest") -> Path:
    """Return the installed package directory of `name`, installing it into the cache once."""
    safe = name.replace("/", "__").replace("@", "")
    prefix = CACHE / safe
    package_dir = prefix / "node_modules" / name
    if (package_dir / "package.json").exists():
        return package_dir
    if shutil.which("npm") is None:
        pytest.skip(f"npm is not installed, so {name} cannot be fetched")
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "package.json").write_text(json.dumps({"name": "mlbot-test-cache", "private": True}))
    result = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(prefix),
         f"{name}@{version}"],
        capture_output=True, text=True, timeout=600, check=False,
    )
    if result.returncode != 0 or not (package_dir / "package.json").exists():
        raise RuntimeError(f"npm install {name} failed: {result.stderr[-2000:]}")
    return package_dir
