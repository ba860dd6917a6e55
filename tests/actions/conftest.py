"""Fixtures for `mlbot init`: an empty git repository and a real data set as CSV."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from tmp_path so nothing (a crash log, an MLflow store) lands in the source tree."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository whose default branch is `main`."""
    path = tmp_path / "credit-model"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture
def breast_cancer_csv(tmp_path: Path) -> Path:
    """scikit-learn's breast-cancer data with the target in a `label` column."""
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    path = tmp_path / "breast_cancer.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def diabetes_csv(tmp_path: Path) -> Path:
    """scikit-learn's diabetes data: a continuous target, so a regression."""
    path = tmp_path / "diabetes.csv"
    load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path
