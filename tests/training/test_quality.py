"""The generator's quality figures on tiny data: each one tells good samples from bad ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from canvascraft.training.quality import (
    Judge,
    QualityReport,
    as_pixels,
    frechet_distance,
    kernel_distance,
    measure,
    memorised_share,
    precision_recall,
)


def blobs(n: int, centre: float, seed: int, dims: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).normal(centre, 1.0, size=(n, dims))


def test_frechet_distance_matches_the_formula_and_grows_with_the_gap() -> None:
    a, b = blobs(400, 0.0, 1), blobs(400, 0.0, 2)
    far = blobs(400, 3.0, 3)
    mean_gap = np.sum((a.mean(0) - far.mean(0)) ** 2)
    cov_a, cov_f = np.cov(a, rowvar=False), np.cov(far, rowvar=False)
    expected = mean_gap + np.trace(cov_a + cov_f - 2 * np.real(linalg.sqrtm(cov_a @ cov_f)))

    assert frechet_distance(a, far) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, b) < 1.0 < 50 < frechet_distance(a, far)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_kid_is_near_zero_for_the_same_distribution_and_positive_for_another() -> None:
    a, b, far = blobs(200, 0.0, 1), blobs(200, 0.0, 2), blobs(200, 2.0, 3)
    assert abs(kernel_distance(a, b)) < 0.05 < kernel_distance(a, far)


def test_precision_and_recall_see_collapse_and_strays() -> None:
    real = blobs(200, 0.0, 1, dims=2)
    collapsed = np.zeros((200, 2)) + 0.1  # every sample the same point inside the real cloud
    strays = blobs(200, 6.0, 2, dims=2)

    precision, recall = precision_recall(real, collapsed)
    assert precision == 1.0 and recall < 0.2
    assert precision_recall(real, strays)[0] < 0.05
    good_precision, good_recall = precision_recall(real, blobs(200, 0.0, 3, dims=2))
    assert good_precision > 0.8 and good_recall > 0.8


def test_memorised_counts_near_copies_only() -> None:
    rng = np.random.default_rng(0)
    training = rng.integers(0, 256, size=(10, 8, 8, 3), dtype=np.uint8)
    copies = np.clip(training[:3].astype(int) + rng.integers(-3, 4, size=(3, 8, 8, 3)), 0, 255).astype(
        np.uint8
    )
    fresh = rng.integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
    assert memorised_share(np.concatenate([copies, fresh]), training) == pytest.approx(3 / 8)


def pictures(n: int, label: int, seed: int) -> torch.Tensor:
    """Two kinds of 16-px pictures: bright left half (label 0) or bright right half (label 1)."""
    x = torch.full((n, 1, 16, 16), -0.8) + 0.1 * torch.randn(
        n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)
    )
    if label == 0:
        x[:, :, :, :8] += 1.6
    else:
        x[:, :, :, 8:] += 1.6
    return x.clamp(-1, 1)


def test_measure_gives_real_like_samples_a_floor_like_score_and_labels_that_agree() -> None:
    real = torch.cat([pictures(40, 0, 1), pictures(40, 1, 2)])
    labels = torch.tensor([0] * 40 + [1] * 40)
    judge = Judge.train(real, labels, 2, 16, seed=0)
    good = [*as_pixels(pictures(16, 0, 3)), *as_pixels(pictures(16, 1, 4))]
    good_labels: list[int | None] = [0] * 16 + [1] * 16
    noise = list(as_pixels(torch.rand(32, 1, 16, 16, generator=torch.Generator().manual_seed(5)) * 2 - 1))

    fair = measure(judge, real, real, good, good_labels)
    bad = measure(judge, real, real, noise, good_labels)

    assert isinstance(fair, QualityReport) and fair.samples == 32
    assert fair.fid < bad.fid and fair.kid < bad.kid
    assert fair.fid < 10 * max(fair.fid_floor, 1e-3) < bad.fid
    assert fair.label_agreement == 1.0 and fair.precision > bad.precision
    assert fair.memorised == 0.0
    copied = measure(judge, real, real, list(as_pixels(real[:32])), [None] * 32)
    assert copied.memorised == 1.0 and copied.label_agreement is None
    assert set(fair.metrics()) == {
        "quality_fid", "quality_fid_floor", "quality_kid", "quality_kid_floor", "quality_precision",
        "quality_recall", "quality_label_agreement", "quality_memorised",
    }  # fmt: skip
