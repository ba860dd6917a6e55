"""`ci.paths` globs and the governance-file helpers."""

from __future__ import annotations

import pytest

from bot.core.paths import (
    edited_policies,
    governance_edits,
    matches,
    needs_retraining,
    watched_files,
)


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("src/model.py", "**", True),
        ("README.md", "**", True),
        ("src/model.py", "src/", True),
        ("src/deep/a/b.py", "src/", True),
        ("src/model.py", "src", True),  # a directory name matches what is below it
        ("srcs/model.py", "src", False),
        ("src/model.py", "./src/", True),
        ("src/model.py", "/src/**", True),
        ("src/model.py", "src/*", True),
        ("src/a/model.py", "src/*", False),  # `*` stays inside one segment
        ("src/a/model.py", "src/**", True),
        ("src/a/model.py", "src/**/*.py", True),
        ("src/model.py", "src/**/*.py", True),  # `**/` also matches no directory
        ("model.py", "*.py", True),
        ("src/model.py", "*.py", False),
        ("src/model.py", "**/*.py", True),
        ("data/train.csv", "data/*.csv", True),
        ("data/train.csv", "data/train.cs?", True),
        ("data/train.parquet", "data/*.csv", False),
        ("mlbot.yaml", "mlbot.yaml", True),
        ("sub/mlbot.yaml", "mlbot.yaml", False),
        ("a+b/(x).py", "a+b/(x).py", True),  # regex characters are literal
        ("docs/index.md", "!docs/", True),  # matched without the `!`
    ],
)
def test_glob(path: str, pattern: str, expected: bool) -> None:
    assert matches(path, pattern) is expected


@pytest.mark.parametrize(
    ("changed", "patterns", "watched"),
    [
        (["README.md", "src/a.py"], ["**"], ["README.md", "src/a.py"]),
        (["README.md", "docs/x.md"], ["src/", "data/", "mlbot.yaml"], []),
        (["README.md", "data/train.csv"], ["src/", "data/", "mlbot.yaml"], ["data/train.csv"]),
        (["docs/x.md", "src/a.py"], ["**", "!docs/**"], ["src/a.py"]),
        (["docs/keep.md", "docs/x.md"], ["**", "!docs/", "docs/keep.md"], ["docs/keep.md"]),  # last wins
        (["src/a.py"], [], []),
        (["src/a.py"], ["", "src/"], ["src/a.py"]),
        ([], ["**"], []),
    ],
)
def test_watched_files(changed: list[str], patterns: list[str], watched: list[str]) -> None:
    assert watched_files(changed, patterns) == watched
    assert needs_retraining(changed, patterns) is bool(watched)


@pytest.mark.parametrize(
    ("changed", "policies", "governance"),
    [
        (["src/a.py"], [], []),
        (["policies/gates.yaml", "src/a.py"], ["policies/gates.yaml"], ["policies/gates.yaml"]),
        (["mlbot.yaml"], [], ["mlbot.yaml"]),
        (["sub/mlbot.yaml", "sub/policies/x.yaml", "policies.yaml"], [], []),
        (["./policies/a.yml", "mlbot.yaml"], ["./policies/a.yml"], ["./policies/a.yml", "mlbot.yaml"]),
    ],
)
def test_governance_files(
    changed: list[str], policies: list[str], governance: list[str]
) -> None:
    assert edited_policies(changed) == policies
    assert governance_edits(changed) == governance
