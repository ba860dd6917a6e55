"""Every path in mlbot.yaml stays inside the checkout: `mlbot check`, fit and evaluate refuse the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.paths import escape_problem

from .conftest import Cli, copy_example


@pytest.mark.parametrize(("path", "problem"), [
    ("data/eval.csv", None),
    ("./data/../data/eval.csv", None),
    ("/etc/passwd", "is an absolute path"),
    ("~/secrets.csv", "is an absolute path"),
    ("C:/data.csv", "is an absolute path"),
    ("../../../../etc/passwd", "leaves the repository through '..'"),
    ("data/../../x.csv", "leaves the repository through '..'"),
    ("", "is empty"),
])
def test_escape_problem(path: str, problem: str | None) -> None:
    found = escape_problem(path)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example("breast-cancer", tmp_path / "repo")


def edit(project: Path, old: str, new: str) -> None:
    config = project / "mlbot.yaml"
    config.write_text(config.read_text().replace(old, new))


def secret_outside(tmp_path: Path) -> Path:
    secret = tmp_path / "host-secret.csv"
    secret.write_text("token,label\nghp_not_for_you,1\n")
    return secret


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ("eval: data/eval.csv", "eval: /etc/passwd.csv", "data.eval", "'/etc/passwd.csv' is an absolute path"),
    ("train: data/train.csv", f"train: {'../' * 12}etc/hosts.csv", "data.train",
     f"'{'../' * 12}etc/hosts.csv' leaves the repository through '..'"),
])
def test_check_refuses_paths_that_leave_the_checkout(cli: Cli, repo: Path, old: str, new: str, key: str,
                                                     problem: str) -> None:
    edit(repo, old, new)
    result = cli("check", str(repo))
    assert result.code == 2
    assert f"error: mlbot.yaml: {key}: {problem}" in result.err


def test_a_symlink_out_of_the_checkout_is_refused_by_check_fit_and_evaluate(
        cli: Cli, repo: Path, tmp_path: Path, tracking_uri: str) -> None:
    out = tmp_path / "out"
    assert cli("fit", "--project", str(repo), "--output", str(out), "--param", "n_estimators=5").code == 0
    (repo / "data" / "eval.csv").unlink()
    os.symlink(secret_outside(tmp_path), repo / "data" / "eval.csv")
    expected = "error: mlbot.yaml: data.eval: 'data/eval.csv' resolves to"
    for argv in (("check", str(repo)),
                 ("fit", "--project", str(repo), "--output", str(tmp_path / "again")),
                 ("evaluate", "--project", str(repo), "--model", str(out), "--param", "n_estimators=5"),
                 ("train", "--project", str(repo))):
        result = cli(*argv)
        assert result.code == 2, argv
        assert expected in result.err and "outside the repository" in result.err, argv
        assert "ghp_not_for_you" not in result.err + result.out, argv


def test_evaluate_refuses_a_base_config_pointing_outside(cli: Cli, repo: Path, tmp_path: Path,
                                                         tracking_uri: str) -> None:
    out = tmp_path / "out"
    assert cli("fit", "--project", str(repo), "--output", str(out), "--param", "n_estimators=5").code == 0
    base = tmp_path / "base.yaml"
    base.write_text((repo / "mlbot.yaml").read_text().replace("eval: data/eval.csv", "eval: ../eval.csv"))
    result = cli("evaluate", "--project", str(repo), "--model", str(out), "--config", str(base),
                 "--param", "n_estimators=5")
    assert result.code == 2
    assert f"error: {base}: data.eval: '../eval.csv' leaves the repository" in result.err


def test_a_symlink_inside_an_input_directory_is_refused(cli: Cli, repo: Path, tmp_path: Path) -> None:
    assert "inputs: [src/, data/, mlbot.yaml]" in (repo / "mlbot.yaml").read_text()
    os.symlink(secret_outside(tmp_path), repo / "data" / "extra.csv")
    result = cli("check", str(repo))
    assert result.code == 2
    assert "error: mlbot.yaml: train.inputs[1]: data/extra.csv is a symlink to" in result.err
    assert "outside the repository" in result.err
