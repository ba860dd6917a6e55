"""The safe loader: every estimator mlbot fits round-trips; anything else is refused by name, unrun."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import FunctionTransformer

from bot.training import estimators, safe_model


def frame(kind: str) -> tuple[pd.DataFrame, pd.Series]:
    features, target = (load_breast_cancer if kind == "classification" else load_diabetes)(
        return_X_y=True, as_frame=True)
    features = features.head(200).copy()
    features["region"] = np.where(features.index % 3 == 0, "north", None)  # categorical, with gaps
    return features, target.head(200)


@pytest.mark.parametrize(("kind", "path", "params"), [
    ("classification", "sklearn.ensemble.RandomForestClassifier", {"n_estimators": 5}),
    ("classification", "sklearn.ensemble.GradientBoostingClassifier", {"n_estimators": 5}),
    ("classification", "sklearn.ensemble.HistGradientBoostingClassifier", {"max_iter": 5}),
    ("classification", "sklearn.ensemble.ExtraTreesClassifier", {"n_estimators": 5}),
    ("classification", "sklearn.linear_model.LogisticRegression", {"max_iter": 500}),
    ("classification", "sklearn.neighbors.KNeighborsClassifier", {}),
    ("classification", "sklearn.neural_network.MLPClassifier", {"max_iter": 20}),
    ("classification", "sklearn.svm.SVC", {"probability": True}),
    ("classification", "sklearn.tree.DecisionTreeClassifier", {}),
    ("classification", "sklearn.naive_bayes.GaussianNB", {}),
    ("classification", "sklearn.calibration.CalibratedClassifierCV", {}),
    ("regression", "sklearn.linear_model.Ridge", {}),
    ("regression", "sklearn.ensemble.RandomForestRegressor", {"n_estimators": 5}),
    ("regression", "sklearn.ensemble.GradientBoostingRegressor", {"n_estimators": 5, "loss": "huber"}),
    ("regression", "sklearn.ensemble.HistGradientBoostingRegressor", {"max_iter": 5, "loss": "poisson"}),
    ("regression", "sklearn.gaussian_process.GaussianProcessRegressor", {}),
    ("regression", "sklearn.linear_model.TweedieRegressor", {}),
    ("regression", "sklearn.neighbors.KNeighborsRegressor", {"algorithm": "kd_tree"}),
])
def test_mlbot_pipelines_round_trip_with_identical_predictions(tmp_path: Path, kind: str, path: str,
                                                               params: dict[str, Any]) -> None:
    features, target = frame(kind)
    estimator, problems = estimators.make(path, params)
    assert problems == []
    model = estimators.pipeline(estimator, features).fit(features, target)
    loaded = safe_model.load(safe_model.save(model, tmp_path / "model.skops"))
    assert np.array_equal(np.asarray(loaded.predict(features)), np.asarray(model.predict(features)))


def test_a_function_outside_the_allow_list_is_refused_by_name(tmp_path: Path) -> None:
    import os

    path = tmp_path / "model.skops"
    skops.io.dump(FunctionTransformer(os.system), path)  # skops stores the reference; loading resolves it
    with pytest.raises(safe_model.UnsafeModel) as refused:
        safe_model.load(path)
    assert "holds types outside mlbot's allow-list: posix.system" in refused.value.message
    assert "scikit-learn estimators, transformers and pipelines only" in (refused.value.hint or "")


def test_save_refuses_what_load_would_refuse(tmp_path: Path) -> None:
    import os

    with pytest.raises(safe_model.UnsafeModel, match=r"posix\.system"):
        safe_model.save(FunctionTransformer(os.system), tmp_path / "model.skops")


@pytest.mark.parametrize(("content", "expected"), [
    (b"\x80\x04\x95junk", "is a pickle/joblib file, which runs code when loaded"),
    (b"x\x9cjunk", "is a pickle/joblib file, which runs code when loaded"),
    (b"hello", "is not a skops file"),
])
def test_files_that_are_not_skops_are_refused_unread(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(content)
    with pytest.raises(safe_model.UnsafeModel, match=expected) as refused:
        safe_model.load(path)
    assert "safe_model import save" in (refused.value.hint or "")


def test_an_archive_that_would_unpack_too_large_is_refused(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.skops"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", "{}" + " " * 10_000)
    monkeypatch.setattr(safe_model, "MAX_UNPACKED_BYTES", 1_000)
    with pytest.raises(safe_model.UnsafeModel, match="unpacks to"):
        safe_model.load(path)
