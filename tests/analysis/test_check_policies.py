"""`mlbot check` validates the project's policies beside mlbot.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "breast-cancer"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(EXAMPLE, target)
    return target


def run(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(["check", str(project)])
    except SystemExit as done:
        code = int(done.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_valid_policies_are_counted(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(project, capsys)
    gates = len([line for line in (project / "policies" / "gates.yaml").read_text().splitlines()
                 if line.lstrip().startswith("- name:")])
    assert code == 0 and f"ok: {gates} gates in policies/gates.yaml" in out


def test_without_policies_the_default_is_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(project / "policies")
    code, out, _ = run(project, capsys)
    assert code == 0 and "gates from mlbot's default policy (no policies/*.yaml)" in out


def test_broken_policies_exit_2_with_file_key_problem(project: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (project / "policies" / "extra.yaml").write_text(
        "gates:\n  - name: drift\n    data: {max_psi: high}\n")
    code, _, err = run(project, capsys)
    assert code == 2
    assert "error: policies/extra.yaml: gates[0].data.max_psi: expected a number, got 'high'" in err
    assert "Traceback" not in err


def test_policies_must_use_configured_metrics_and_slices(project: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (project / "policies" / "extra.yaml").write_text(
        "gates:\n  - {name: ll, metric: log_loss, max: 0.3}\n"
        "  - {name: city, metric: accuracy, slices: {column: city, max_drop: 0.1}}\n")
    code, _, err = run(project, capsys)
    assert code == 2
    assert ("error: policies/extra.yaml: gates[0].metric: 'log_loss' is not among the metrics in mlbot.yaml "
            "(roc_auc, accuracy, f1); add it there or fix the name") in err
    assert "gates[1].slices.column: 'city' is not among data.slices in mlbot.yaml (region)" in err
