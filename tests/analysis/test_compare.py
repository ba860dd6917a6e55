"""compare_runs on logged prediction tables, and the data diff / PSI."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.core.errors import ConfigError
from bot.core.judge.compare import RunView, compare_runs, diff_params, eval_data
from bot.core.judge.datadiff import categorical_psi, diff_profiles, numeric_psi, psi, quantile_cdf
from bot.core.judge.metrics import Prediction, score
from bot.core.judge.table import PredictionTable

from .builders import CANDIDATE, PRODUCTION, predictions

LEVELS = np.linspace(0, 1, 101)


def test_metrics_match_bot_metrics_and_cis_bracket_the_delta() -> None:
    frame = predictions(rows=1500)
    result = compare_runs(CANDIDATE, PRODUCTION, frame, model="m", metrics=["roc_auc", "accuracy", "f1"],
                          resamples=500, seed=1, confidence_levels=[0.9])
    y = frame["truth"]
    for prefix, attr in (("candidate", "candidate"), ("production", "production")):
        pred = Prediction(frame[f"{prefix}_pred"],
                          np.column_stack([frame[f"{prefix}_proba.0"], frame[f"{prefix}_proba.1"]]), (0, 1))
        for m in result.metrics:
            assert getattr(m, attr) == pytest.approx(score(m.name, y, pred)), (prefix, m.name)
    assert result.primary == "roc_auc" and not result.first_promotion
    for m in result.metrics:
        lo, hi = m.ci(0.95) or (math.nan, math.nan)
        assert m.delta is not None and lo < m.delta < hi
        assert set(m.cis) == {0.9, 0.95}
        assert m.ci(0.8) is not None  # other levels come from the stored samples
        assert m.delta_pct == pytest.approx(m.delta / abs(m.production or 1) * 100)
    assert result.eval_set_same is True
    assert result.params.changed == {"n_estimators": ("200", "300")}


def test_first_promotion_has_absolute_values_only() -> None:
    frame = predictions(rows=300, production=False)
    result = compare_runs(CANDIDATE, None, frame, model="m", metrics=["accuracy", "roc_auc"],
                          slices=["region"])
    assert result.first_promotion
    assert all(m.production is None and m.delta is None and m.ci() is None for m in result.metrics)
    assert result.params.empty and result.data is None and result.eval_set_same is None
    assert {s.value for s in result.slices} == {"north", "south", "east"}


def test_slices_carry_row_counts_and_their_own_cis() -> None:
    frame = predictions(rows=1000)
    result = compare_runs(CANDIDATE, PRODUCTION, frame, model="m", metrics=["accuracy"], slices=["region"],
                          resamples=300)
    values, counts = np.unique(frame["slice.region"], return_counts=True)
    assert {(s.value, s.rows) for s in result.slices_of("region")} == set(zip(values, counts, strict=True))
    big = next(s for s in result.slices if s.value == "north")
    metric = big.metric("accuracy")
    assert metric is not None and metric.ci() is not None
    assert sum(s.rows for s in result.slices) == 1000


def test_string_labels_in_multiclass_are_aligned_with_probability_columns() -> None:
    rng = np.random.default_rng(0)
    classes = ["setosa", "versicolor", "virginica"]
    y = rng.choice(classes, 600)
    columns = {"truth": y, "candidate_pred": y, "production_pred": rng.choice(classes, 600)}
    for prefix in ("candidate", "production"):
        p = rng.dirichlet([1, 1, 1], 600)
        for i, c in enumerate(classes):
            columns[f"{prefix}_proba.{c}"] = p[:, i]
    frame = PredictionTable(columns)
    data = eval_data(frame, "classification")
    assert data.classes == tuple(classes)
    result = compare_runs(CANDIDATE, PRODUCTION, frame, model="iris", metrics=["accuracy", "f1", "roc_auc"],
                          resamples=200)
    accuracy = result.metric("accuracy")
    assert accuracy is not None and accuracy.candidate == 1.0 and accuracy.delta is not None
    assert accuracy.delta > 0.5


def test_regression_compares_errors_in_the_right_direction() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=800)
    frame = PredictionTable({"truth": y, "candidate_pred": y + rng.normal(size=800) * 0.2,
                             "production_pred": y + rng.normal(size=800) * 0.5})
    result = compare_runs(CANDIDATE, PRODUCTION, frame, model="d", metrics=["rmse", "r2"], resamples=300)
    rmse, r2 = result.metric("rmse"), result.metric("r2")
    assert rmse is not None and r2 is not None
    assert not rmse.higher_is_better and rmse.delta is not None and rmse.delta < 0
    assert r2.higher_is_better and (r2.ci() or (0, 0))[0] > 0


def test_unknown_metric_and_missing_columns_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'rocauc'"):
        compare_runs(CANDIDATE, None, predictions(50), model="m", metrics=["rocauc"])
    with pytest.raises(ConfigError, match="truth: column is missing"):
        compare_runs(CANDIDATE, None, PredictionTable({"candidate_pred": [1]}), model="m", metrics=["accuracy"])


def test_eval_set_identity_compares_the_hashes() -> None:
    other = RunView("p", tags={"mlbot.eval_sha256": "f" * 64}, version="2")
    unknown = RunView("p", version="2")
    frame = predictions(100)
    same = [compare_runs(CANDIDATE, p, frame, model="m", metrics=["accuracy"], resamples=50).eval_set_same
            for p in (other, unknown)]
    assert same == [False, None]


def test_params_diff() -> None:
    diff = diff_params({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "5", "d": "4"})
    assert (diff.added, diff.removed, diff.changed) == ({"d": "4"}, {"c": "3"}, {"b": ("2", "5")})
    assert diff_params({"a": "1"}, {"a": "1"}).empty


# --- PSI and profiles --------------------------------------------------------------------------


def test_psi_known_values() -> None:
    assert categorical_psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0
    # (0.9-0.5)·ln(0.9/0.5) + (0.1-0.5)·ln(0.1/0.5)
    assert categorical_psi({"a": 0.5, "b": 0.5}, {"a": 0.9, "b": 0.1}) == pytest.approx(0.878890, abs=1e-6)
    # an unseen category is floored at epsilon instead of making PSI infinite
    assert psi(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4))


def test_numeric_psi_from_quantiles_matches_binned_psi_of_a_shifted_normal() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200_000), rng.normal(0.5, 1.0, size=200_000)
    qa, qb = np.quantile(a, LEVELS), np.quantile(b, LEVELS)
    edges = np.r_[-np.inf, np.quantile(a, np.linspace(0, 1, 11))[1:-1], np.inf]
    binned = psi(np.histogram(a, edges)[0] / a.size, np.histogram(b, edges)[0] / b.size)
    assert numeric_psi(list(qa), list(qa)) == 0
    assert numeric_psi(list(qa), list(qb)) == pytest.approx(binned, rel=0.02)
    assert 0.2 < binned < 0.28  # the textbook ≈ 0.24 for a half-sigma shift


def test_quantile_cdf_handles_point_masses() -> None:
    q = [0.0] * 51 + [1.0] * 50  # a 0/1 feature, about half zeros
    assert quantile_cdf(np.array(q), np.array([-1.0, 0.0, 0.5, 1.0])).tolist() == pytest.approx(
        [0.0, 0.5, 0.505, 1.0])


def _profile(cols: dict[str, dict[str, object]], rows: int = 100) -> dict[str, object]:
    return {"rows": {"train": rows, "eval": 20}, "columns": cols}


CATEGORICAL = {"dtype": "object", "kind": "categorical",
               "train": {"missing": 0.1, "frequencies": {"a": 0.5, "b": 0.5}}}


def test_diff_profiles_reports_schema_missing_and_drift() -> None:
    rng = np.random.default_rng(1)
    base = list(np.quantile(rng.normal(size=5000), LEVELS))
    moved = list(np.quantile(rng.normal(1.0, 1.0, size=5000), LEVELS))
    prod = _profile({
        "x": {"dtype": "float64", "kind": "numeric", "train": {"missing": 0.0, "quantiles": base}},
        "y": {"dtype": "int64", "kind": "numeric", "train": {"missing": 0.0, "quantiles": base}},
        "gone": {"dtype": "object", "kind": "categorical", "train": {"frequencies": {"a": 1.0}}},
        "c": CATEGORICAL,
    })
    cand = _profile({
        "x": {"dtype": "float64", "kind": "numeric", "train": {"missing": 0.2, "quantiles": moved}},
        "y": {"dtype": "float64", "kind": "numeric", "train": {"missing": 0.0, "quantiles": base}},
        "new": {"dtype": "float64", "kind": "numeric", "train": {"quantiles": base}},
        "c": CATEGORICAL,
    }, rows=120)
    diff = diff_profiles(prod, cand)
    assert diff.added_columns == ("new",) and diff.removed_columns == ("gone",)
    assert diff.dtype_changes == (("y", "int64", "float64"),)
    assert not diff.schema_unchanged and len(diff.schema_changes) == 3
    assert diff.rows == {"eval": (20, 20), "train": (100, 120)}
    assert diff.columns[0].name == "x"  # highest PSI first
    top = diff.max_psi
    assert top is not None and top.name == "x" and top.psi is not None and top.psi > 0.5
    assert top.missing_delta == pytest.approx(0.2)
    assert next(c for c in diff.columns if c.name == "c").psi == 0


def test_slices_of_missing_values_and_ties_in_counts_keep_first_appearance() -> None:
    rows = 6
    columns = {"truth": np.array([0, 1, 0, 1, 0, 1]), "candidate_pred": np.array([0, 1, 1, 1, 0, 0]),
               "slice.site": np.array(["b", None, "a", float("nan"), "a", "b"], dtype=object)}
    result = compare_runs(CANDIDATE, None, PredictionTable(columns), model="m", metrics=["accuracy"],
                          slices=["site"])
    assert [(s.value, s.rows) for s in result.slices] == [("b", 2), ("(missing)", 2), ("a", 2)]
    assert sum(s.rows for s in result.slices) == rows


def test_a_table_refuses_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        PredictionTable({"truth": [1, 2], "candidate_pred": [1]})
