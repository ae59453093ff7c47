"""How good a generator's pictures are, measured without downloaded weights.

Published FID uses an Inception network that cannot be downloaded here, so the figures are computed
in the feature space of a *judge*: a small classifier the studio trains on the run's own training
pictures (the ``image-cnn`` architecture, its penultimate layer as features). Numbers in that space
are only comparable with each other (runs on the same dataset), never with published FID, so every
figure comes with its *floor*: the same figure between two disjoint halves of the real pictures,
the best a generator can hope for at that sample size.

- Fréchet distance and KID (the unbiased squared MMD with the cubic polynomial kernel) between
  samples and real pictures, each beside its real-against-real floor;
- precision and recall (k-nearest-neighbour manifolds, Kynkäänniemi et al. 2019): the share of
  samples that look like some real picture, and of real pictures some sample looks like;
- label agreement: the share of samples drawn for a label that the judge assigns to that label;
- memorised: the share of samples nearly identical to a training picture (pixels differ by less
  than ``MEMORISED_LEVELS`` of 255 on average), so copying is not mistaken for quality.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy import linalg
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset

NOTE = "in this dataset's own feature space, not comparable with published FID"
MEMORISED_LEVELS = 8.0
"""Mean absolute pixel difference (of 255) below which a sample counts as a copy of a training picture."""
NEIGHBOURS = 3
JUDGE_EPOCHS = 8
JUDGE_WIDTH = 16


@dataclass(frozen=True)
class QualityReport:
    """The figures for one set of samples; ``samples`` is how many were drawn (and real ones compared)."""

    fid: float
    fid_floor: float
    kid: float
    kid_floor: float
    precision: float
    recall: float
    label_agreement: float | None
    memorised: float
    samples: int

    def metrics(self, prefix: str = "quality_") -> dict[str, float]:
        """The figures as MLflow metrics (``quality_fid``…); label agreement only when conditioned."""
        values = {k: v for k, v in asdict(self).items() if v is not None and k != "samples"}
        return {f"{prefix}{k}": float(v) for k, v in values.items()}


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are items)."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # features with dead units make singular covariances: expected
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all():  # nudge both diagonals, as the reference implementation does
            offset = np.eye(len(cov_a)) * 1e-6
            root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    trace = np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(np.real(root))
    return float(max(0.0, np.sum((mean_a - mean_b) ** 2) + trace))


def kernel_distance(
    a: np.ndarray, b: np.ndarray, *, subsets: int = 10, size: int = 100, seed: int = 0
) -> float:
    """KID: the unbiased squared MMD with kernel ``(x·y / d + 1)³``, averaged over random subsets."""
    size = min(size, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least two items on each side")
    rng = np.random.default_rng(seed)
    dims = a.shape[1]
    total = 0.0
    for _ in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        kxx, kyy, kxy = ((p @ q.T / dims + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (size * (size - 1))
        total += within - 2 * kxy.mean()
    return float(total / subsets)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = NEIGHBOURS) -> tuple[float, float]:
    """Share of ``fake`` inside the real k-NN manifold (precision), and of ``real`` inside the fake one."""
    return _coverage(real, fake, k), _coverage(fake, real, k)


def _coverage(manifold: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Share of ``queries`` within some manifold point's distance to its k-th nearest neighbour."""
    within = _distances(manifold, manifold)
    k = min(k, len(manifold) - 1)
    radii = np.sort(within, axis=1)[:, k]  # column 0 is the point itself
    return float((_distances(queries, manifold) <= radii[None, :]).any(axis=1).mean())


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def memorised_share(samples: np.ndarray, training: np.ndarray) -> float:
    """Share of samples (uint8, N×H×W×C) whose nearest training picture differs by less than
    ``MEMORISED_LEVELS`` of 255 per pixel on average."""
    if len(samples) == 0 or len(training) == 0:
        return 0.0
    s = samples.reshape(len(samples), -1).astype(np.float32)
    t = training.reshape(len(training), -1).astype(np.float32)
    nearest = np.array([np.abs(t - row).mean(axis=1).min() for row in s])
    return float((nearest < MEMORISED_LEVELS).mean())


class Judge:
    """The classifier whose features the figures are measured in, trained on the run's training
    pictures at the generator's resolution; untrained (random features) when there is one label."""

    def __init__(self, model: nn.Module, resolution: int, trained: bool):
        from canvascraft.training.evaluate import penultimate

        self.model, self.resolution, self.trained = model.eval(), resolution, trained
        self.body = penultimate(model)

    @classmethod
    def train(
        cls, pictures: torch.Tensor, labels: torch.Tensor, n_classes: int, resolution: int, seed: int = 0
    ) -> Judge:
        """A seeded ``image-cnn`` trained for ``JUDGE_EPOCHS`` on ``pictures`` (N×C×H×W in -1..1)."""
        from canvascraft.training.trainers import get_trainer

        x = resize(pictures, resolution)
        trainer = get_trainer("image-cnn")(width=JUDGE_WIDTH, seed=seed)
        model = trainer.build_model(tuple(x.shape[1:]), max(n_classes, 2))
        if n_classes < 2:
            return cls(model, resolution, trained=False)
        optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
        order = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(JUDGE_EPOCHS):
            for batch in torch.randperm(len(x), generator=order).split(64):
                optimiser.zero_grad()
                F.cross_entropy(model(x[batch]), labels[batch]).backward()
                optimiser.step()
        return cls(model, resolution, trained=True)

    @torch.no_grad()
    def features(self, pictures: torch.Tensor) -> np.ndarray:
        return np.concatenate([self.body(b).numpy() for b in resize(pictures, self.resolution).split(256)])

    @torch.no_grad()
    def predict(self, pictures: torch.Tensor) -> np.ndarray:
        return np.concatenate(
            [self.model(b).argmax(1).numpy() for b in resize(pictures, self.resolution).split(256)]
        )


def resize(pictures: torch.Tensor, resolution: int) -> torch.Tensor:
    if pictures.shape[-2:] == (resolution, resolution):
        return pictures
    return F.interpolate(pictures, size=(resolution, resolution), mode="bilinear", antialias=True)


def stack(
    dataset: Dataset[tuple[torch.Tensor, int]], limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pictures and labels of a dataset as two tensors (the first ``limit`` items)."""
    count = len(dataset) if limit is None else min(limit, len(dataset))  # type: ignore[arg-type]
    items = [dataset[i] for i in range(count)]
    return torch.stack([x for x, _ in items]), torch.tensor([int(y) for _, y in items])


def as_tensor(pictures: list[np.ndarray]) -> torch.Tensor:
    """uint8 HWC samples back to the -1..1 CHW pictures the judge and the data use."""
    return torch.from_numpy(np.stack(pictures)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def as_pixels(pictures: torch.Tensor) -> np.ndarray:
    """-1..1 CHW pictures as uint8 HWC, the samples' own form."""
    return ((pictures.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def measure(
    judge: Judge,
    real: torch.Tensor,
    training: torch.Tensor,
    samples: list[np.ndarray],
    sample_labels: list[int | None],
    seed: int = 0,
) -> QualityReport:
    """Every figure for ``samples`` against ``real`` pictures (the floors split ``real`` in two halves,
    each as large as the sample set); ``training`` pictures are what memorisation is checked against."""
    fake = as_tensor(samples)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(real))
    n = min(len(fake), len(real) // 2)
    if n < 2:
        raise ValueError("quality needs at least four real pictures")
    reference, other = real[order[:n]], real[order[n : 2 * n]]
    ref_f, other_f, fake_f = judge.features(reference), judge.features(other), judge.features(fake[:n])
    precision, recall = precision_recall(ref_f, fake_f)
    labelled = [(i, label) for i, label in enumerate(sample_labels) if label is not None]
    agreement = None
    if labelled and judge.trained:
        predicted = judge.predict(fake[[i for i, _ in labelled]])
        agreement = float(np.mean(predicted == np.array([label for _, label in labelled])))
    return QualityReport(
        fid=frechet_distance(fake_f, ref_f),
        fid_floor=frechet_distance(other_f, ref_f),
        kid=kernel_distance(fake_f, ref_f, seed=seed),
        kid_floor=kernel_distance(other_f, ref_f, seed=seed),
        precision=precision,
        recall=recall,
        label_agreement=agreement,
        memorised=memorised_share(np.stack(samples), as_pixels(resize(training, fake.shape[-1]))),
        samples=n,
    )


@dataclass(frozen=True)
class Figure:
    """One quality figure as pages show it: its value, its floor when it has one, and what it says."""

    label: str
    value: float
    floor: float | None
    better: str
    meaning: str
    percent: bool = False

    def shown(self, value: float | None = None) -> str:
        value = self.value if value is None else value
        return f"{value:.0%}" if self.percent else f"{value:.3g}"


_FIGURES = (
    ("fid", "FID", "lower", False, "gap between samples and real pictures (floor: two halves of the real)"),
    ("kid", "KID", "lower", False, "the same gap without assuming Gaussians; steadier on few samples"),
    ("precision", "precision", "higher", True, "share of samples that look like some real picture"),
    ("recall", "recall", "higher", True, "share of real pictures some sample looks like (variety)"),
    ("label_agreement", "label agreement", "higher", True, "share of samples judged to be their label"),
    ("memorised", "memorised", "lower", True, "share of samples nearly identical to a training picture"),
)  # fmt: skip


def quality_figures(metrics: dict[str, float], prefix: str = "best_quality_") -> list[Figure]:
    """The quality figures among a run's ``metrics`` (``best_quality_*`` for the finished model,
    ``quality_*`` in an epoch's row), in a fixed order; empty when the run measured none."""
    return [
        Figure(label, metrics[prefix + key], metrics.get(f"{prefix}{key}_floor"), better, meaning, percent)
        for key, label, better, percent, meaning in _FIGURES
        if prefix + key in metrics
    ]


def quality_sentence(metrics: dict[str, float], prefix: str = "quality_") -> str | None:
    """``FID 41.2 (floor 3.10) · KID … · precision 62%…``, or None when ``metrics`` hold no figures."""
    figures = quality_figures(metrics, prefix)
    if not figures:
        return None
    parts = [
        f"{f.label} {f.shown()}" + (f" (floor {f.shown(f.floor)})" if f.floor is not None else "")
        for f in figures
    ]
    return " · ".join(parts)
