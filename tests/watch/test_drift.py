"""Drift and quality of a window against a production run's profile, and the acceptance rates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from bot.core.judge.drift import measure, reference_from_sample
from tests.watch.synthetic import SHIFTED, alarm_rates, columns, frame, reference_profile


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    return reference_profile()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_acceptance_false_alarms_at_most_5_and_detection_at_least_95_of_100(
        profile: dict[str, Any], seed: int) -> None:
    alarms, detections = alarm_rates(profile, seed)
    assert alarms <= 5
    assert detections >= 95


def test_a_window_from_the_reference_does_not_drift(profile: dict[str, Any]) -> None:
    report = measure(profile, columns(frame(np.random.default_rng(5), 1000)), rows=1000)
    assert report.drifted == [] and report.drift_share == 0.0
    assert len(report.columns) == 30  # the label is not a feature


def test_shifted_features_are_named_with_their_shift(profile: dict[str, Any]) -> None:
    report = measure(profile, columns(frame(np.random.default_rng(6), 1000, shifted=3)), rows=1000)
    assert {c.name for c in report.drifted} == SHIFTED
    assert report.drift_share == pytest.approx(0.1)
    top = report.drifted[0]
    assert top.test == "KS" and top.p_adjusted < 1e-6 and 0.35 < (top.shift or 0) < 0.65
    assert "σ" in top.describe() and "PSI" in top.describe()


def test_a_tiny_shift_on_a_huge_window_is_significant_but_not_drift() -> None:
    profile = reference_profile(rows=50_000)
    report = measure(profile, columns(frame(np.random.default_rng(7), 200_000, shifted=1, shift=0.06)),
                     rows=200_000)
    x00 = next(c for c in report.columns if c.name == "x00")
    assert x00.p_adjusted < 0.05 and not x00.drifted


def _categorical_profile() -> dict[str, Any]:
    return {"target": "y", "rows": {"train": 1000}, "columns": {
        "region": {"kind": "categorical", "dtype": "object",
                   "train": {"missing": 0.0, "frequencies": {"north": 0.5, "south": 0.5}}},
        "age": {"kind": "numeric", "dtype": "float64",
                "train": {"missing": 0.0, "quantiles": list(np.linspace(18, 90, 101)), "mean": 54.0, "std": 20.8}},
    }}


@pytest.mark.parametrize(("regions", "drifted"), [
    (["north", "south"] * 250, False),
    (["north"] * 400 + ["south"] * 100, True),
    (["north"] * 240 + ["south"] * 240 + ["west"] * 20, True),  # a new category is drift too
])
def test_categorical_drift_by_chi_square(regions: list[str], drifted: bool) -> None:
    window = {"region": np.asarray(regions, dtype=object), "age": np.linspace(18, 90, len(regions))}
    report = measure(_categorical_profile(), window, rows=len(regions))
    region = next(c for c in report.columns if c.name == "region")
    assert region.test == "chi-square" and region.drifted is drifted


@pytest.mark.parametrize(("window", "finding"), [
    ({"region": ["north", None, "west", "west"], "age": [20.0, 30.0, 40.0, 50.0]},
     {"unseen": ("region", 0.5, ("west",)), "missing": ("region", 0.25)}),
    ({"region": ["north"] * 4, "age": [20.0, np.nan, 120.0, 5.0]},
     {"out_of_range": ("age", 2 / 3), "missing": ("age", 0.25)}),
    ({"region": ["north"] * 4, "age": ["a", "b", "c", "d"], "new": [1, 2, 3, 4]},
     {"schema": ["new new", "age: numeric → categorical"]}),
    ({"age": [20.0, 30.0]}, {"schema": ["missing region"]}),
])
def test_data_quality_findings(window: dict[str, list[Any]], finding: dict[str, Any]) -> None:
    arrays = {k: np.asarray(v, dtype=object if any(isinstance(x, str | None) for x in v) else float)
              for k, v in window.items()}
    quality = measure(_categorical_profile(), arrays, rows=4).quality
    if "schema" in finding:
        assert quality.schema_changes == finding["schema"]
    if "unseen" in finding:
        name, share, examples = finding["unseen"]
        worst = quality.worst("unseen")
        assert worst is not None and (worst.name, worst.unseen, worst.unseen_examples) == (name, share, examples)
    if "missing" in finding:
        worst = quality.worst("missing_increase")
        assert worst is not None and (worst.name, worst.missing_increase) == pytest.approx(finding["missing"])
    if "out_of_range" in finding:
        worst = quality.worst("out_of_range")
        assert worst is not None and (worst.name, worst.out_of_range) == pytest.approx(finding["out_of_range"])


def test_prediction_drift_of_scores_and_classes() -> None:
    rng = np.random.default_rng(3)
    ref_scores = rng.beta(2, 5, size=2000)
    ref_classes = np.where(ref_scores > 0.5, "1", "0").astype(object)
    same, moved = rng.beta(2, 5, size=1000), rng.beta(5, 2, size=1000)
    for scores, drifted in ((same, False), (moved, True)):
        classes = np.where(scores > 0.5, "1", "0").astype(object)
        report = measure({"columns": {}}, {}, rows=1000, predictions=[
            ("score", reference_from_sample(ref_scores, "numeric"), 2000, scores),
            ("class", reference_from_sample(ref_classes, "categorical"), 2000, classes)])
        assert report.prediction_drifted is drifted
        assert {c.name for c in report.predictions} == {"score", "class"}


def test_a_pandas_window_with_missing_values_is_measured(profile: dict[str, Any]) -> None:
    df = frame(np.random.default_rng(8), 500)
    df.loc[:99, "x05"] = np.nan
    report = measure(profile, columns(pd.DataFrame(df)), rows=500)
    x05 = next(c for c in report.quality.columns if c.name == "x05")
    assert x05.missing_window == pytest.approx(0.2) and x05.missing_increase == pytest.approx(0.2)
