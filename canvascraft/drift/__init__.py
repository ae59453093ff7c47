"""Drift checks: how far a model's current data and predictions have moved from its reference data."""

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

__all__ = [
    "EPSILON",
    "METRICS",
    "MetricResult",
    "MetricSpec",
    "NumericReference",
    "category_counts",
    "chi_square",
    "jensen_shannon",
    "ks",
    "mmd",
    "numeric_drift",
    "prediction_drift",
    "psi",
    "resolve_thresholds",
    "wasserstein",
    "wasserstein_distance",
]
