"""Drift metrics against scipy on the same data, worked examples, edge cases and properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import cdist, jensenshannon

from canvascraft.drift import (
    EPSILON,
    METRICS,
    NumericReference,
    chi_square,
    jensen_shannon,
    ks,
    mmd,
    numeric_drift,
    prediction_drift,
    psi,
    resolve_thresholds,
    wasserstein,
    wasserstein_distance,
)
from canvascraft.drift.metrics import quantile_edges
from canvascraft.errors import CanvasCraftError, DriftError


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def pairs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """Continuous, tied (integers), unequal sizes, a large pair (scipy's asymptotic branch), and shifted."""
    return [
        (rng.normal(size=300), rng.normal(0.2, 1.3, size=250)),
        (rng.integers(0, 6, 400).astype(float), rng.integers(0, 7, 333).astype(float)),
        (rng.exponential(size=57), rng.exponential(1.4, size=1001)),
        (rng.normal(size=30_000), rng.normal(0.02, 1.0, size=20_000)),
        (rng.uniform(size=5000), rng.uniform(0.3, 1.3, size=5000)),
    ]


# ----------------------------------------------------------------------------- numeric against scipy


def test_ks_matches_scipy(rng: np.random.Generator) -> None:
    for reference, current in pairs(rng):
        ours = ks(reference, current)
        theirs = stats.ks_2samp(reference, current)
        assert ours.value == pytest.approx(theirs.statistic, abs=1e-12)
        if max(reference.size, current.size) <= 10_000:
            assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
        else:
            # Kolmogorov's limit beyond 10,000 a side; scipy uses the finite-n distribution there.
            assert 0.001 < theirs.pvalue < 0.5
            assert ours.p_value == pytest.approx(theirs.pvalue, rel=0.02)
        assert ours.drifted == (ours.p_value < 0.05)


def test_wasserstein_matches_scipy(rng: np.random.Generator) -> None:
    for reference, current in pairs(rng):
        expected = stats.wasserstein_distance(reference, current)
        ours = wasserstein(reference, current)
        assert ours.detail["distance"] == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert ours.value == pytest.approx(expected / np.std(reference), rel=1e-10)
        assert wasserstein_distance(reference, current) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def brute_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in (-inf, e0], (e0, e1], …, (e_last, inf), one comparison per bin."""
    bounds = np.concatenate(([-np.inf], edges, [np.inf]))
    return np.array([np.sum((values > low) & (values <= high)) for low, high in itertools.pairwise(bounds)])


def test_jensen_shannon_matches_scipy(rng: np.random.Generator) -> None:
    for reference, current in pairs(rng):
        for bins in (5, 10, 20):
            edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
            np.testing.assert_allclose(quantile_edges(np.sort(reference), bins), edges, rtol=1e-12)
            p, q = brute_counts(reference, edges), brute_counts(current, edges)
            ours = jensen_shannon(reference, current, bins=bins)
            assert ours.value == pytest.approx(jensenshannon(p, q, base=2), abs=1e-10)
            assert ours.detail["bins"] == edges.size + 1


def test_psi_worked_example() -> None:
    """Reference shares 25/25/25/25 %, current 10/20/30/40 %:
    PSI = (.10−.25)ln(.10/.25) + (.20−.25)ln(.20/.25) + (.30−.25)ln(.30/.25) + (.40−.25)ln(.40/.25)
        = 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228218."""
    reference = np.repeat([1.0, 2.0, 3.0, 4.0], 25)
    current = np.repeat([1.0, 2.0, 3.0, 4.0], [10, 20, 30, 40])
    expected = 0.15 * math.log(2.5) + 0.05 * math.log(1.25) + 0.05 * math.log(1.2) + 0.15 * math.log(1.6)
    assert expected == pytest.approx(0.228218, abs=1e-6)
    # Quantile bins of the reference (edges 1.75, 2.5, 3.25) and the same bins given by hand.
    for bins in (4, [1.5, 2.5, 3.5]):
        result = psi(reference, current, bins=bins)
        assert result.value == pytest.approx(expected, rel=1e-12)
        assert result.drifted  # above the 0.2 rule of thumb
        assert result.threshold == 0.2


def test_psi_empty_bin_uses_the_epsilon_floor() -> None:
    """Current leaves the first bin empty: its share is floored at EPSILON, so the term is large, finite."""
    reference = np.repeat([1.0, 2.0], 50)
    current = np.repeat([2.0], 100)
    result = psi(reference, current, bins=[1.5])
    expected = (EPSILON - 0.5) * math.log(EPSILON / 0.5) + (1.0 - 0.5) * math.log(1.0 / 0.5)
    assert result.value == pytest.approx(expected, rel=1e-12)
    assert result.detail["empty_current_bins"] == 1
    assert math.isfinite(result.value)


# ------------------------------------------------------------------------------------------ batches


def test_batch_matches_single_metrics_and_reads_frame_columns(rng: np.random.Generator) -> None:
    reference = rng.normal(size=(2000, 4))
    current = rng.normal(size=(1500, 4)) + np.array([0.0, 0.3, 0.0, 1.0])
    current[::7, 2] = np.nan
    frame = pd.DataFrame(reference, columns=["a", "b", "c", "d"])
    metrics = ("psi", "ks", "wasserstein", "jensen_shannon")
    for workers in (1, 3):
        report = numeric_drift(frame, current, metrics=metrics, workers=workers)
        assert list(report) == ["a", "b", "c", "d"]
        for index, name in enumerate(report):
            for metric, single in (("psi", psi), ("ks", ks), ("wasserstein", wasserstein)):
                alone = single(reference[:, index], current[:, index])
                assert report[name][metric].value == pytest.approx(alone.value, rel=1e-12, abs=1e-15)
                assert report[name][metric].column == name
            alone = jensen_shannon(reference[:, index], current[:, index])
            assert report[name]["jensen_shannon"].value == pytest.approx(alone.value, rel=1e-12)
    assert report["c"]["ks"].detail["current_dropped"] == len(range(0, 1500, 7))
    assert not report["a"]["psi"].drifted and report["d"]["psi"].drifted
    assert report["d"]["wasserstein"].drifted and report["d"]["ks"].drifted


def test_reference_profile_is_reused(rng: np.random.Generator) -> None:
    profile = NumericReference(rng.normal(size=(500, 2)), columns=["x", "y"])
    first = profile.compare(rng.normal(size=(400, 2)))
    second = profile.compare(rng.normal(2.0, 1.0, size=(400, 2)), thresholds={"psi": 5.0})
    assert not first["x"]["psi"].drifted
    assert second["x"]["psi"].threshold == 5.0
    assert second["x"]["ks"].drifted
    with pytest.raises(DriftError, match="3 columns; the reference has 2"):
        profile.compare(np.zeros((10, 3)))
    with pytest.raises(DriftError, match="must be chosen from"):
        profile.compare(np.zeros((10, 2)), metrics=("psi", "kolmogorov"))


# ------------------------------------------------------------------------------------- categorical


def test_chi_square_matches_scipy_with_and_without_yates() -> None:
    reference = ["a"] * 40 + ["b"] * 35 + ["c"] * 25
    current = ["a"] * 20 + ["b"] * 45 + ["c"] * 35
    table = np.array([[40, 35, 25], [20, 45, 35]])
    ours = chi_square(reference, current)
    theirs = stats.chi2_contingency(table)
    assert ours.value == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-10)
    assert ours.detail["dof"] == theirs.dof == 2
    assert ours.detail["cramers_v"] == pytest.approx(stats.contingency.association(table), rel=1e-12)
    # Two categories: scipy applies Yates's correction by default, and so do we.
    two = np.array([[30, 70], [45, 55]])
    for correction in (True, False):
        result = chi_square({"x": 30, "y": 70}, {"x": 45, "y": 55}, correction=correction)
        expected = stats.chi2_contingency(two, correction=correction)
        assert result.value == pytest.approx(expected.statistic, rel=1e-12)
        assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)


def test_chi_square_reports_unseen_and_vanished_categories() -> None:
    reference = {"cat": 50, "dog": 50, "eel": 5}
    current = ["cat"] * 40 + ["dog"] * 40 + ["owl"] * 20
    result = chi_square(reference, current)
    expected = stats.chi2_contingency(np.array([[50, 50, 5, 0], [40, 40, 0, 20]]))
    assert result.value == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)
    assert result.detail["unseen_categories"] == ["owl"]
    assert result.detail["unseen_count"] == 20
    assert result.detail["missing_categories"] == ["eel"]
    assert result.drifted


def test_chi_square_edge_cases() -> None:
    same = chi_square(["a"] * 10, ["a"] * 3)
    assert (same.value, same.p_value, same.drifted) == (0.0, 1.0, False)
    assert "only one category" in same.detail["note"]
    with_missing = chi_square(np.array([1.0, 2.0, np.nan, 2.0]), [1, 2, None, "3", pd.NA])
    assert with_missing.detail["reference_dropped"] == 1
    assert with_missing.detail["current_dropped"] == 2
    assert with_missing.detail["unseen_categories"] == ["3"]
    assert with_missing.detail["unseen_count"] == 1
    with pytest.raises(DriftError, match="'colour': the current data has no values \\(2 missing"):
        chi_square(["red"], [None, np.nan], column="colour")
    with pytest.raises(DriftError, match="negative count"):
        chi_square({"a": -1}, {"a": 2})


# ------------------------------------------------------------------------------------- predictions


def test_prediction_drift_on_labels_counts_and_probabilities(rng: np.random.Generator) -> None:
    reference = ["cat"] * 60 + ["dog"] * 40
    current = ["cat"] * 30 + ["dog"] * 50 + ["owl"] * 20
    result = prediction_drift(reference, current)
    assert result.value == pytest.approx(jensenshannon([60, 40, 0], [30, 50, 20], base=2), abs=1e-12)
    assert result.p_value == pytest.approx(stats.chi2_contingency([[60, 40, 0], [30, 50, 20]]).pvalue)
    assert result.drifted and result.detail["unseen_categories"] == ["owl"]
    from_counts = prediction_drift({"cat": 60, "dog": 40}, {"cat": 30, "dog": 50, "owl": 20})
    assert from_counts.value == pytest.approx(result.value, rel=1e-12)
    steady = prediction_drift(reference, list(reversed(reference)))
    assert steady.value == 0.0 and not steady.drifted and steady.p_value == pytest.approx(1.0)

    probabilities = rng.dirichlet([2.0, 1.0, 1.0], size=400)
    shifted = rng.dirichlet([1.0, 1.0, 3.0], size=400)
    soft = prediction_drift(probabilities, shifted)
    expected = jensenshannon(probabilities.sum(axis=0), shifted.sum(axis=0), base=2)
    assert soft.value == pytest.approx(expected, abs=1e-12)
    assert soft.drifted and set(soft.detail["current_shares"]) == {0, 1, 2}
    with pytest.raises(DriftError, match="finite and non-negative"):
        prediction_drift(np.array([[0.5, np.nan]]), probabilities[:, :2])


# -------------------------------------------------------------------------------------------- MMD


def naive_mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Textbook unbiased MMD² with the full kernel matrices, off-diagonal means."""

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.exp(-cdist(a, b, "sqeuclidean") / (2 * bandwidth**2))

    kxx, kyy = kernel(x, x), kernel(y, y)
    n, m = len(x), len(y)
    return (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kernel(x, y).mean()
    )


def test_mmd_exact_matches_the_textbook_estimate(rng: np.random.Generator) -> None:
    x, y = rng.normal(size=(120, 5)), rng.normal(0.3, 1.0, size=(90, 5))
    result = mmd(x, y, permutations=50, method="exact", bandwidth=1.7)
    assert result.value == pytest.approx(naive_mmd2(x, y, 1.7), rel=1e-9)
    pooled = np.concatenate((x, y))
    median = mmd(x, y, permutations=10).detail["bandwidth"]
    assert median == pytest.approx(np.median(cdist(pooled, pooled)[np.triu_indices(len(pooled), 1)]))


def test_mmd_features_approximate_the_exact_value(rng: np.random.Generator) -> None:
    x, y = rng.normal(size=(800, 16)), rng.normal(size=(800, 16)) + 0.15
    exact = mmd(x, y, permutations=20, method="exact")
    approximate = mmd(x, y, permutations=20, method="features", features=2048)
    assert exact.value > 0.003
    assert approximate.value == pytest.approx(exact.value, rel=0.1)


@pytest.mark.parametrize("method", ["exact", "features"])
def test_mmd_permutation_test(rng: np.random.Generator, method: str) -> None:
    size = 1000 if method == "exact" else 3000
    same = mmd(rng.normal(size=(size, 32)), rng.normal(size=(size, 32)), method=method)  # type: ignore[arg-type]
    assert same.p_value is not None and same.p_value > 0.05 and not same.drifted
    current = rng.normal(size=(size, 32))
    current[:, :4] += 0.25
    shifted = mmd(rng.normal(size=(size, 32)), current, method=method)  # type: ignore[arg-type]
    assert shifted.p_value == pytest.approx(1 / 201) and shifted.drifted
    assert shifted.detail["method"] == method


def test_mmd_is_reproducible_with_the_seed(rng: np.random.Generator) -> None:
    x, y = rng.normal(size=(2500, 8)), rng.normal(0.03, 1.0, size=(2500, 8))
    first, again = mmd(x, y, seed=3), mmd(x, y, seed=3)
    assert first == again
    assert first.detail["method"] == "features"  # 5,000 rows in all: past the exact limit
    assert mmd(x, y, seed=4).value != first.value


def test_mmd_edge_cases(rng: np.random.Generator) -> None:
    x = rng.normal(size=(50, 4))
    x[3, 1] = np.nan
    result = mmd(x, rng.normal(size=(40, 4)), permutations=20)
    assert result.detail["reference_dropped"] == 1 and result.detail["reference_count"] == 49
    constant = mmd(np.zeros((10, 3)), np.zeros((12, 3)), permutations=20)  # every distance 0
    assert constant.value == pytest.approx(0.0, abs=1e-12) and not constant.drifted
    with pytest.raises(DriftError, match=r"at least 2 embeddings .* the current has 1"):
        mmd(x, rng.normal(size=(1, 4)))
    with pytest.raises(DriftError, match="embedding sizes differ"):
        mmd(x, rng.normal(size=(10, 5)))
    with pytest.raises(DriftError, match="2-D"):
        mmd(np.zeros(10), np.zeros(10))


# ------------------------------------------------------------------------------------ edge cases


def test_constant_columns_give_numbers_not_divisions_by_zero() -> None:
    constant, other = np.full(100, 3.0), np.full(80, 5.0)
    for current in (np.full(50, 3.0), other, np.linspace(0, 6, 90)):
        for result in (
            psi(constant, current),
            ks(constant, current),
            wasserstein(constant, current),
            jensen_shannon(constant, current),
        ):
            assert math.isfinite(result.value) and result.value >= 0.0
    same = wasserstein(constant, np.full(50, 3.0))
    assert same.value == 0.0 and not same.drifted
    moved = wasserstein(constant, other)
    assert moved.detail["distance"] == pytest.approx(2.0)
    assert "pooled std" in moved.detail["scaled_by"] and moved.drifted
    assert ks(constant, other).value == 1.0
    assert psi(constant, constant).value == 0.0
    assert psi(constant, other).detail["bins"] == 2  # nine equal edges merged into one


def test_nans_and_infinities_are_dropped_and_counted(rng: np.random.Generator) -> None:
    reference, current = rng.normal(size=200), rng.normal(size=150)
    dirty = np.concatenate((current, [np.nan, np.inf, -np.inf, np.nan]))
    for metric in (psi, ks, wasserstein, jensen_shannon):
        clean, with_nans = metric(reference, current), metric(reference, dirty)
        assert with_nans.value == pytest.approx(clean.value, rel=1e-12, abs=1e-15)
        assert with_nans.detail["current_dropped"] == 4
        assert with_nans.detail["current_count"] == 150


def test_a_column_without_values_is_a_clear_error(rng: np.random.Generator) -> None:
    with pytest.raises(DriftError, match="'age': the current data has no finite values \\(3 NaN"):
        ks(rng.normal(size=10), [np.nan] * 3, column="age")
    with pytest.raises(DriftError, match="'x': the reference data has no finite values \\(0 NaN"):
        psi([], [1.0, 2.0], column="x")
    reference = rng.normal(size=(20, 3))
    reference[:, 0] = np.nan
    current = rng.normal(size=(20, 3))
    current[:, 2] = np.inf
    with pytest.raises(DriftError) as raised:
        numeric_drift(reference, current, columns=["a", "b", "c"])
    message = str(raised.value)
    assert (
        "'a': the reference data" in message and "'c': the current data" in message and "'b'" not in message
    )
    assert isinstance(raised.value, CanvasCraftError)
    with pytest.raises(DriftError, match="not numeric"):
        ks(["a", "b"], [1.0])


def test_tiny_samples_give_numbers_with_a_note() -> None:
    for metric in (psi, ks, wasserstein, jensen_shannon):
        result = metric([1.0], [2.0])
        assert math.isfinite(result.value)
        assert "fewer than 30" in result.detail["note"]
    assert ks([1.0], [2.0]).value == pytest.approx(stats.ks_2samp([1.0], [2.0]).statistic)
    assert ks([1.0], [2.0]).p_value == pytest.approx(stats.ks_2samp([1.0], [2.0]).pvalue)


# ------------------------------------------------------------------------------------ thresholds


def test_thresholds_default_and_per_model() -> None:
    assert resolve_thresholds() == {name: spec.threshold for name, spec in METRICS.items()}
    assert all(spec.why for spec in METRICS.values())
    chosen = resolve_thresholds({"psi": 0.1, "ks": 0.01})
    assert chosen["psi"] == 0.1 and chosen["ks"] == 0.01 and chosen["mmd"] == 0.05
    reference, current = np.repeat([1.0, 2.0], 50), np.repeat([1.0, 2.0], [40, 60])
    assert not psi(reference, current).drifted
    assert psi(reference, current, threshold=0.01).drifted
    with pytest.raises(DriftError, match="unknown drift metric 'pis'; did you mean psi"):
        resolve_thresholds({"pis": 0.2})
    with pytest.raises(DriftError, match="ks is a p-value and must be between 0 and 1, got 5"):
        resolve_thresholds({"ks": 5})
    with pytest.raises(DriftError, match="psi must be a finite number ≥ 0"):
        psi([1.0], [1.0], threshold=-1.0)
    with pytest.raises(DriftError, match="must be a number"):
        resolve_thresholds({"psi": "high"})  # type: ignore[dict-item]


# ------------------------------------------------------------------------------------ properties

samples = st.lists(
    st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_identical_samples_show_no_drift(values: list[float]) -> None:
    data = np.array(values)
    for result in (psi(data, data), ks(data, data), wasserstein(data, data), jensen_shannon(data, data)):
        assert result.value == pytest.approx(0.0, abs=1e-12)
        assert not result.drifted
    assert chi_square(data, data).value == pytest.approx(0.0, abs=1e-9)


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful:RuntimeWarning")
@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_properties_against_scipy(left: list[float], right: list[float]) -> None:
    a, b = np.array(left), np.array(right)
    assert psi(a, b).value >= 0.0
    assert 0.0 <= jensen_shannon(a, b).value <= 1.0
    assert ks(a, b).value == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    assert ks(a, b).value == pytest.approx(ks(b, a).value, abs=1e-12)
    distance = stats.wasserstein_distance(a, b)
    assert wasserstein_distance(a, b) == pytest.approx(distance, rel=1e-9, abs=1e-6)
    assert wasserstein_distance(a, b) == pytest.approx(wasserstein_distance(b, a), rel=1e-9, abs=1e-6)
    assert chi_square(a, b).value == pytest.approx(chi_square(b, a).value, rel=1e-9, abs=1e-9)
