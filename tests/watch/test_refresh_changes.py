"""What a data refresh changed, read from `git status`, and when mlbot will not propose it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.adapters.runners.changes import MAX_FILE_BYTES, MAX_FILES, changed_paths, collect
from tests.lifecycle.helpers import git

STATUS = ["status", "--porcelain=v1", "-z", "--untracked-files=all"]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A repository with data/train.csv, data/old.csv and README.md committed."""
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    (root / "data" / "train.csv").write_text("x,label\n1,0\n")
    (root / "data" / "old.csv").write_text("x\n9\n")
    (root / "README.md").write_text("# churn\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "data")
    return root


def status(root: Path) -> bytes:
    return subprocess.run(["git", *STATUS], cwd=root, check=True, capture_output=True).stdout


def test_porcelain_entries_name_modified_new_deleted_and_both_sides_of_a_rename() -> None:
    raw = (b" M data/train.csv\0?? data/new file.csv\0 D data/old.csv\0R  b.csv\0a.csv\0C  copy.csv\0orig.csv\0"
           b"?? odd\nname.csv\0")
    assert changed_paths(raw) == ["data/train.csv", "data/new file.csv", "data/old.csv", "b.csv", "a.csv",
                                  "copy.csv", "odd\nname.csv"]  # a copy's source is unchanged
    assert changed_paths(b"") == []


def test_a_refresh_yields_its_new_modified_and_deleted_files(checkout: Path) -> None:
    (checkout / "data" / "train.csv").write_text("x,label\n1,0\n2,1\n")
    (checkout / "data" / "2026").mkdir()
    (checkout / "data" / "2026" / "december.csv").write_bytes(b"x\n\xff\n")
    (checkout / "data" / "old.csv").unlink()
    git(checkout, "mv", "README.md", "ABOUT.md")  # a rename git knows of: the old name reads as deleted
    found = collect(checkout, status(checkout))
    assert found.problem is None
    assert found.files == {"data/train.csv": b"x,label\n1,0\n2,1\n", "data/2026/december.csv": b"x\n\xff\n",
                           "data/old.csv": None, "ABOUT.md": b"# churn\n", "README.md": None}


def test_nothing_changed_is_refused(checkout: Path) -> None:
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None and "changed no file" in found.problem


def test_more_than_a_hundred_files_are_refused(checkout: Path) -> None:
    for index in range(MAX_FILES + 1):
        (checkout / f"part-{index:03d}.csv").write_text("x\n")
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None and f"changed {MAX_FILES + 1} files" in found.problem


def test_a_workflow_change_needs_a_human(checkout: Path) -> None:
    (checkout / "data" / "train.csv").write_text("x,label\n")
    (checkout / ".github" / "workflows").mkdir(parents=True)
    (checkout / ".github" / "workflows" / "steal.yml").write_text("on: push\n")
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None
    assert ".github/workflows/steal.yml" in found.problem and "human" in found.problem


def test_a_file_over_fifty_megabytes_is_refused(checkout: Path) -> None:
    with (checkout / "data" / "train.csv").open("r+b") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: large to lstat, nothing on disk
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None and "data/train.csv" in found.problem
    assert "50 MB" in found.problem


def test_a_link_is_never_followed(checkout: Path, tmp_path: Path) -> None:
    secret = tmp_path / "bot-data" / "private.pem"
    secret.parent.mkdir()
    secret.write_text("-----BEGIN PRIVATE KEY-----\n")
    (checkout / "data" / "train.csv").unlink()
    (checkout / "data" / "train.csv").symlink_to(secret)
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None and "not a plain file" in found.problem


def test_a_directory_replaced_by_a_link_is_refused(checkout: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "train.csv").write_text("not from the checkout\n")
    for name in ("train.csv", "old.csv"):
        (checkout / "data" / name).unlink()
    (checkout / "data").rmdir()
    (checkout / "data").symlink_to(elsewhere)
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None and "not a plain file" in found.problem


def test_a_name_that_is_not_utf8_is_refused(checkout: Path) -> None:
    try:
        (checkout / os.fsdecode(b"caf\xe9.csv")).write_text("x\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take names that are not UTF-8")
    found = collect(checkout, status(checkout))
    assert found.files == {} and found.problem is not None and "not UTF-8" in found.problem
