"""The numpy-only statistics behind drift, against known values (scipy's, computed once)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.judge import drift_stats as st


@pytest.mark.parametrize(("statistic", "df", "expected"), [
    (0.5, 1, 0.4795001221869534), (3.84, 1, 0.05004352124870519), (10.0, 5, 0.07523524614651217),
    (50.0, 30, 0.01240206071890054), (1.0, 10, 0.9998278843700441), (200.0, 150, 0.003973185970821635),
    (0.0, 3, 1.0),
])
def test_chi_square_survival_matches_the_reference_values(statistic: float, df: int, expected: float) -> None:
    assert st.chi2_sf(statistic, df) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("d", "n", "expected"), [
    (0.05, 500, 0.164), (0.1, 100, 0.256), (0.3, 1000, 0.0), (0.0, 100, 1.0),
])
def test_kolmogorov_survival_is_the_corrected_asymptotic_distribution(d: float, n: float, expected: float) -> None:
    assert st.kolmogorov_sf(d, n) == pytest.approx(expected, abs=0.01)


def test_ks_statistic_against_quantiles_matches_the_two_sample_statistic() -> None:
    rng = np.random.default_rng(0)
    reference, window = rng.normal(size=5000), np.sort(rng.normal(size=1000))
    quantiles = np.percentile(reference, np.arange(101))
    assert st.ks_statistic(quantiles, window) == pytest.approx(0.0314, abs=0.003)  # scipy ks_2samp: 0.0314


def test_ks_statistic_sees_a_jump_in_a_discrete_feature() -> None:
    quantiles = np.array([0.0] * 51 + [1.0] * 50)  # half zeros, half ones
    assert st.ks_statistic(quantiles, np.array([0.0] * 50 + [1.0] * 50)) == pytest.approx(0.0, abs=0.011)
    assert st.ks_statistic(quantiles, np.array([1.0] * 100)) == pytest.approx(0.5, abs=0.011)


@pytest.mark.parametrize(("p", "adjusted"), [
    ([0.01, 0.04, 0.03, 0.5], [0.04, 0.0533, 0.0533, 0.5]),
    ([0.5], [0.5]),
    ([], []),
    ([0.9, 0.9, 0.9], [0.9, 0.9, 0.9]),
])
def test_benjamini_hochberg(p: list[float], adjusted: list[float]) -> None:
    assert st.benjamini_hochberg(p) == pytest.approx(adjusted, abs=1e-4)


def test_wasserstein_of_a_shift_is_the_shift() -> None:
    rng = np.random.default_rng(1)
    quantiles = np.percentile(rng.normal(size=20_000), np.arange(101))
    assert st.wasserstein(quantiles, np.sort(rng.normal(size=20_000) + 0.5)) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize(("p", "q", "expected"), [
    ([0.5, 0.5], [0.5, 0.5], 0.0), ([1.0, 0.0], [0.0, 1.0], 1.0), ([0.2, 0.8], [0.4, 0.6], 0.1867),
])
def test_jensen_shannon_distance(p: list[float], q: list[float], expected: float) -> None:
    assert st.jensen_shannon(np.array(p), np.array(q)) == pytest.approx(expected, abs=1e-3)


def test_chi_square_of_identical_shares_does_not_reject() -> None:
    statistic, p = st.chi2_two_sample(np.array([100.0, 200.0]), np.array([50.0, 100.0]))
    assert statistic == pytest.approx(0.0) and p == pytest.approx(1.0)
