"""Drift checks: how far a model's current data and predictions have moved from its reference data."""

from canvascraft.drift.checks import DriftCheckResult, run_check
from canvascraft.drift.metrics import (
    EPSILON,
    METRICS,
    MetricResult,
    MetricSpec,
    NumericReference,
    category_counts,
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
from canvascraft.drift.profile import (
    Profile,
    build_profile,
    feature_table,
    plain_sentences,
    signal_features,
)

__all__ = [
    "EPSILON",
    "METRICS",
    "DriftCheckResult",
    "MetricResult",
    "MetricSpec",
    "NumericReference",
    "Profile",
    "build_profile",
    "category_counts",
    "chi_square",
    "feature_table",
    "jensen_shannon",
    "ks",
    "mmd",
    "numeric_drift",
    "plain_sentences",
    "prediction_drift",
    "psi",
    "resolve_thresholds",
    "run_check",
    "signal_features",
    "wasserstein",
    "wasserstein_distance",
]
