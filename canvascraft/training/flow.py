"""``image-flow``: a small class-conditional UNet that learns to make new pictures by flow matching.

Flow matching (rectified flow) draws a straight line from each training picture ``x0`` to a noise
picture ``e``; at a random time ``t`` the network sees ``x_t = (1 - t)·x0 + t·e`` and learns the
velocity ``e - x0``. Sampling walks the line back from pure noise (``t = 1``) to a picture (``t = 0``)
in a few Euler steps. Labels condition the network through a class embedding; one extra index means
"no label", used for a share of training items, so the same network samples unconditionally and
with classifier-free guidance (``v = v_free + g·(v_label - v_free)``).

Pictures come in as the recipe leaves them, in -1..1 (``normalize`` with the ``half`` preset, as the
``image-flow-starter`` recipe ends), and are resized to the trainer's resolution: 16 or 32 pixels
chosen from the data, or 64 when asked (about four times the cost of 32).
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from canvascraft.brushes.base import Param
from canvascraft.errors import TrainingError
from canvascraft.training import quality
from canvascraft.training.objectives import Meter, Metric, Objective
from canvascraft.training.trainers import LOOP_HYPERPARAMS, Trainer, register_trainer

if TYPE_CHECKING:
    from canvascraft.training.finish import FinishedRun
    from canvascraft.training.split import SplitData

RESOLUTIONS = (16, 32, 64)
VALIDATION_SEED = 20261203
"""Validation noise and times are drawn from this seed, so epochs' validation losses compare."""
SAMPLE_STEPS = 20
FILMSTRIP_STEPS = 10
"""Fewer steps for the pictures shown while training: they show progress, not final quality."""
FILMSTRIP_SEEDS = (0, 1, 2, 3)
FILMSTRIP_LABELS = 8
FILMSTRIP_PICTURES = 40
"""At most this many epochs get a filmstrip picture: every early epoch, then evenly spread."""
QUALITY_POINTS = 5
"""Epochs whose model is measured while training (evenly spread, the last included): each costs a
judge pass over ``QUICK_SAMPLES`` pictures sampled in ``QUICK_STEPS``."""
QUICK_SAMPLES, QUICK_STEPS = 64, 8
FINAL_SAMPLES = 128
"""Pictures the finished (best) model is measured on, at full sampling steps."""
QUALITY_SEED = 7_000_000
"""Quality samples' first seed: far from the filmstrip's and a user's small seeds."""
JUDGED_ITEMS = 2000
REPORT = "quality/report.json"
MODEL_FORMAT = "flow"
"""The logged model's format tag: a folder of safetensors weights and a JSON config, nothing to run."""
WEIGHTS = "weights.safetensors"
CONFIG = "config.json"
CARD = "card.png"
RANGE_SLACK = 0.02


class FlowNet(nn.Module):
    """The UNet and what sampling needs to know: picture size and channels, and how many labels
    (index ``n_classes`` means no label)."""

    def __init__(self, channels: int, resolution: int, n_classes: int, width: int, label_dropout: float):
        super().__init__()
        from diffusers import UNet2DModel

        self.channels, self.resolution, self.n_classes = channels, resolution, n_classes
        self.width, self.label_dropout = width, label_dropout
        widths = (width, width * 2, width * 2)
        self.unet = UNet2DModel(
            sample_size=resolution,
            in_channels=channels,
            out_channels=channels,
            block_out_channels=widths,
            down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
            layers_per_block=1,
            num_class_embeds=n_classes + 1,
            norm_num_groups=min(8, width),
            attention_head_dim=min(32, widths[-1]),
        )

    @property
    def free_label(self) -> int:
        """The label index that stands for "no label"."""
        return self.n_classes

    def config(self) -> dict[str, Any]:
        """Everything needed to build the same network again (saved beside its weights)."""
        return {
            "channels": self.channels,
            "resolution": self.resolution,
            "n_classes": self.n_classes,
            "width": self.width,
            "label_dropout": self.label_dropout,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FlowNet:
        return cls(config["channels"], config["resolution"], config["n_classes"], config["width"],
                   config["label_dropout"])  # fmt: skip

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The velocity at time ``t`` (0 picture … 1 noise) for pictures ``x`` with ``labels``."""
        return self.unet(x, t * 1000, class_labels=labels).sample

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Training pictures at this network's resolution, refused unless they are in -1..1."""
        low, high = float(x.min()), float(x.max())
        if low < -1 - RANGE_SLACK or high > 1 + RANGE_SLACK:
            raise TrainingError(
                f"image-flow learns pictures with values in -1..1, got {low:.2f}..{high:.2f}; end the "
                "recipe with normalize set to the half preset (as image-flow-starter does)"
            )
        if x.shape[-2:] != (self.resolution, self.resolution):
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", antialias=True)
        return x


class _LossMeter(Meter):
    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def add(self, outputs: torch.Tensor, targets: torch.Tensor, loss: torch.Tensor) -> None:
        self.total += loss.item() * len(targets)
        self.count += len(targets)

    def result(self) -> dict[str, float]:
        if self.count == 0:
            raise TrainingError("a split has no items; pick a larger dataset or a smaller validation share")
        return {"loss": self.total / self.count}


class FlowMatching(Objective):
    """Mean squared error of the predicted velocity. Validation draws its noise and times from a
    fixed seed, so its loss moves only with the model."""

    task = "generate"
    metrics = (Metric("loss", "minimize", "flow loss"),)
    primary = "val_loss"
    monitor = "val_loss"
    pins_predictions = False

    def __init__(self) -> None:
        self._judges: dict[tuple[int, int], tuple[quality.Judge, torch.Tensor, torch.Tensor] | None] = {}

    def check_targets(self, trainer: str, n_classes: int) -> None:
        if n_classes < 1:
            raise TrainingError(f"{trainer}: training needs pictures with at least one label")

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert isinstance(model, FlowNet)
        x0 = model.prepare(x)
        generator = None
        if not model.training:
            generator = torch.Generator(x0.device).manual_seed(VALIDATION_SEED)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        t = torch.rand(len(x0), generator=generator, device=x0.device)
        labels = y
        if model.training and model.label_dropout > 0:
            free = torch.rand(len(y), device=y.device) < model.label_dropout
            labels = torch.where(free, torch.full_like(y, model.free_label), y)
        spread = t.view(-1, 1, 1, 1)
        velocity = model((1 - spread) * x0 + spread * noise, t, labels)
        return F.mse_loss(velocity.float(), (noise - x0).float()), velocity

    def meter(self) -> Meter:
        return _LossMeter()

    def epoch_picture(self, model: nn.Module, epoch: int, epochs: int, folder: Path) -> str | None:
        if not shows_epoch(epoch, epochs):
            return None
        assert isinstance(model, FlowNet)
        name = f"samples/epoch-{epoch:04d}.png"
        labels, seeds = filmstrip_plan(model.n_classes)
        pictures = sample(model, labels, seeds, steps=FILMSTRIP_STEPS)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(grid_png(pictures, columns=len(FILMSTRIP_SEEDS)))
        return name

    def picture_caption(self, classes: list[str]) -> str:
        rows = ", ".join(classes[:FILMSTRIP_LABELS]) if classes else "unlabelled"
        seeds = ", ".join(str(seed) for seed in FILMSTRIP_SEEDS)
        return f"one row per label ({rows}), one column per seed ({seeds}); the same noise every epoch"

    def log_model(self, finished: FinishedRun, extra_files: dict[str, str]) -> str:
        """An MLflow logged model (so it registers and takes aliases) whose folder holds the network's
        weights as safetensors and its config as JSON: no pickle, no program, nothing that runs."""
        import json

        from safetensors.torch import save_file

        model = finished.model
        assert isinstance(model, FlowNet)
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        config = {**model.config(), "classes": finished.split.classes}

        def write(folder: Path, model_id: str, artifact_location: str) -> None:
            folder.mkdir(parents=True)
            save_file(state, str(folder / WEIGHTS))
            (folder / CONFIG).write_text(json.dumps(config, indent=2))
            for name, text in extra_files.items():
                (folder / name).write_text(text)

        return finished.training.log_folder_model(write, name="generator", model_format=MODEL_FORMAT)

    def log_finished(self, finished: FinishedRun) -> None:
        """The run's card (the best model's pictures, one row per label) and its quality report:
        every figure of ``canvascraft.training.quality`` for the best model, as ``best_quality_*``
        metrics and ``quality/report.json``."""
        import json

        model = finished.model
        assert isinstance(model, FlowNet)
        labels, seeds = filmstrip_plan(model.n_classes)
        pictures = sample(model, labels, seeds)
        finished.training.log_bytes(grid_png(pictures, columns=len(FILMSTRIP_SEEDS)), CARD)
        report = self.quality(model, finished.split, FINAL_SAMPLES, SAMPLE_STEPS)
        if report is not None:
            finished.training.log_summary(report.metrics("best_quality_"), {})
            document = {**asdict(report), "note": quality.NOTE, "steps": SAMPLE_STEPS}
            finished.training.log_text(json.dumps(document, indent=2), REPORT)

    def epoch_figures(self, model: nn.Module, epoch: int, epochs: int, split: SplitData) -> dict[str, float]:
        """Quick quality figures at ``QUALITY_POINTS`` epochs, logged beside the loss as ``quality_*``."""
        every = max(1, math.ceil(epochs / QUALITY_POINTS))
        if epoch % every and epoch != epochs:
            return {}
        assert isinstance(model, FlowNet)
        report = self.quality(model, split, QUICK_SAMPLES, QUICK_STEPS)
        return {} if report is None else report.metrics()

    def quality(self, model: FlowNet, split: SplitData, n: int, steps: int) -> quality.QualityReport | None:
        """The figures for ``n`` samples of ``model``, or ``None`` when the data is too small to judge."""
        judged = self._judged(split, model.resolution)
        if judged is None:
            return None
        judge, real, training = judged
        labels: list[int | None] = (
            [i % model.n_classes for i in range(n)] if model.n_classes > 1 else [None] * n
        )
        seeds = [QUALITY_SEED + i for i in range(n)]
        samples = sample(model, labels, seeds, steps=steps)
        return quality.measure(judge, real, training, samples, labels)

    def _judged(
        self, split: SplitData, resolution: int
    ) -> tuple[quality.Judge, torch.Tensor, torch.Tensor] | None:
        """The judge and real pictures of ``split``, built once per job (this object lives as long as the
        job's process, and a job trains on one split)."""
        key = (id(split), resolution)
        if key not in self._judges:
            training, labels = quality.stack(split.train, JUDGED_ITEMS)
            held_out, _ = quality.stack(split.val, JUDGED_ITEMS)
            real = quality.resize(torch.cat([training, held_out]), resolution)
            if len(real) < 4:
                self._judges[key] = None
            else:
                judge = quality.Judge.train(training, labels, len(split.classes), resolution)
                self._judges[key] = (judge, real, training)
        return self._judges[key]


FLOW_MATCHING = FlowMatching()


def shows_epoch(epoch: int, epochs: int) -> bool:
    """Whether ``epoch`` gets a filmstrip picture: the first ones, then evenly spread, and the last."""
    every = max(1, math.ceil(epochs / FILMSTRIP_PICTURES))
    return epoch <= 5 or epoch % every == 0 or epoch == epochs


def filmstrip_plan(n_classes: int) -> tuple[list[int | None], list[int]]:
    """Labels and seeds of the filmstrip: each of the first labels with every filmstrip seed (rows
    by label)."""
    labels: list[int | None] = list(range(min(n_classes, FILMSTRIP_LABELS))) or [None]
    plan = [(label, seed) for label in labels for seed in FILMSTRIP_SEEDS]
    return [label for label, _ in plan], [seed for _, seed in plan]


GUIDANCE = 2.0
"""How strongly pictures follow their label unless asked otherwise (1 turns guidance off)."""
PIXEL_RANGE = (-1.0, 1.0)
"""The values sampling ends in (the ``half`` normalisation), clipped and spread over 0..255."""


def seeded_noise(model: FlowNet, seeds: Sequence[int]) -> torch.Tensor:
    """The starting noise of each seed, drawn on the CPU one seed at a time, so a seed's picture is the
    same on any device and in any batch."""
    shape = (model.channels, model.resolution, model.resolution)
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s)) for s in seeds])


@torch.no_grad()
def sample_values(
    model: FlowNet,
    labels: Sequence[int | None],
    seeds: Sequence[int],
    *,
    steps: int = SAMPLE_STEPS,
    guidance: float = GUIDANCE,
    noise: torch.Tensor | None = None,
) -> torch.Tensor:
    """The pictures as the sampling loop leaves them (float, N×C×H×W on the CPU, about -1..1), before
    they become pixels: Euler steps from ``t = 1`` to ``t = 0``, guided as ``v_free + g·(v_label -
    v_free)`` with both velocities from one batch. An exported bundle replays exactly this loop."""
    if len(labels) != len(seeds):
        raise ValueError("one label per seed")
    if steps < 1:
        raise ValueError(f"sampling needs at least 1 step, got {steps}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    if noise is None:
        noise = seeded_noise(model, seeds)
    x = noise.to(device)
    cond = torch.tensor([model.free_label if v is None else v for v in labels], device=device)
    free = torch.full_like(cond, model.free_label)
    times = torch.linspace(1.0, 0.0, steps + 1, device=device)
    for now, then in itertools.pairwise(times):
        t = now.expand(len(x))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            if guidance == 1.0:
                velocity = model(x, t, cond).float()
            else:
                both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, free])).float()
                labelled, unlabelled = both.chunk(2)
                velocity = unlabelled + guidance * (labelled - unlabelled)
        x = x + (then - now) * velocity
    model.train(was_training)
    return x.cpu()


def to_pixels(values: torch.Tensor) -> list[np.ndarray]:
    """Sampled values as uint8 HWC pictures: clipped to ``PIXEL_RANGE`` and spread over 0..255."""
    low, high = PIXEL_RANGE
    pixels = ((values.clamp(low, high) - low) * (255.0 / (high - low))).round().to(torch.uint8)
    return [picture.permute(1, 2, 0).numpy() for picture in pixels]


def sample(
    model: FlowNet,
    labels: Sequence[int | None],
    seeds: Sequence[int],
    *,
    steps: int = SAMPLE_STEPS,
    guidance: float = GUIDANCE,
    noise: torch.Tensor | None = None,
) -> list[np.ndarray]:
    """One picture per (label, seed) as uint8 HWC arrays; the same seed and label give the same
    picture on any device (the noise is drawn on the CPU). ``None`` samples without a label;
    ``guidance`` 1 turns classifier-free guidance off. ``noise`` replaces the seeded noise (a walk)."""
    values = sample_values(model, labels, seeds, steps=steps, guidance=guidance, noise=noise)
    return to_pixels(values)


def png(picture: np.ndarray) -> bytes:
    from PIL import Image

    image = Image.fromarray(picture[:, :, 0] if picture.shape[2] == 1 else picture)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_png(pictures: Sequence[np.ndarray], columns: int, scale: int = 2, gap: int = 2) -> bytes:
    """Pictures in rows of ``columns``, each enlarged ``scale`` times (small pictures stay visible)."""
    size = pictures[0].shape[0] * scale
    channels = pictures[0].shape[2]
    rows = math.ceil(len(pictures) / columns)
    sheet = np.full((rows * (size + gap) - gap, columns * (size + gap) - gap, channels), 255, np.uint8)
    for index, picture in enumerate(pictures):
        row, column = divmod(index, columns)
        big = picture.repeat(scale, axis=0).repeat(scale, axis=1)
        sheet[
            row * (size + gap) : row * (size + gap) + size,
            column * (size + gap) : column * (size + gap) + size,
        ] = big
    return png(sheet)


def choose_resolution(shape: tuple[int, ...], wanted: str) -> int:
    """The picture size the network works at: ``wanted`` (16, 32, 64) or, for ``auto``, the largest
    of 16 and 32 the items reach, so small pictures are not blown up and the CPU cost stays low."""
    side = min(shape[-2:])
    if wanted != "auto":
        return int(wanted)
    for resolution in (32, 16):
        if side >= resolution:
            return resolution
    raise TrainingError(
        f"image-flow needs pictures of at least 16 pixels a side, got {shape[-2]}×{shape[-1]}; "
        "resize them larger in the recipe"
    )


def _with_default(param: Param, default: Any) -> Param:
    return replace(param, default=default)


FLOW_DEFAULTS: dict[str, Any] = {
    "epochs": 150,
    "max_steps": 1_000_000,  # a generator trains for its epochs: there is no best epoch to stop at
    "batch_size": 64,
    "learning_rate": 1e-3,
    "weight_decay": 0.0,
    "patience": 1000,
    "schedule": "constant",
}
FLOW_LOOP = tuple(_with_default(p, FLOW_DEFAULTS.get(p.name, p.default)) for p in LOOP_HYPERPARAMS)


@register_trainer
class ImageFlow(Trainer):
    name = "image-flow"
    modality = "image"
    summary = "Makes new pictures like the dataset's, by label (a small UNet trained by flow matching)."
    objective: ClassVar[Objective] = FLOW_MATCHING
    starter = "image-flow-starter"
    hyperparams = (
        *FLOW_LOOP,
        Param("width", "int", 32, "Channels of the UNet's first level (doubled below it).", 8, 128),
        Param(
            "resolution",
            "choice",
            "auto",
            "Picture size it learns: auto picks 16 or 32 from the data.",
            choices=("auto", "16", "32", "64"),
        ),
        Param(
            "label_dropout", "float", 0.1, "Share of items seen without their label (for guidance).", 0.0, 0.5
        ),
    )

    def make(self, shape: tuple[int, ...], n_classes: int) -> nn.Module:
        if len(shape) != 3:
            raise TrainingError(f"{self.name} takes pictures shaped (channels, height, width), got {shape}")
        resolution = choose_resolution(shape, self.settings["resolution"])
        return FlowNet(
            shape[0], resolution, n_classes, self.settings["width"], self.settings["label_dropout"]
        )
