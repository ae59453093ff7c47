"""The progress document a training job writes into its job row and the Train page reads.

One schema for both sides: the job process fills it as it goes (phase, epoch, step, the metric history
and the pinned items' predictions), the page derives the bar, the ETA, the chart and the filmstrip from
it without opening MLflow. It is plain JSON, replaced whole on each report, and small (a few KB).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PHASES = ("preparing", "training", "saving", "done", "pruned")


@dataclass(frozen=True)
class PinnedItem:
    """A validation item the user pinned: ``index`` is its place in the version's manifest (items) or
    among the labelled rows (tables); ``sha256`` lets the page draw a thumbnail or a player."""

    index: int
    name: str
    label: str
    sha256: str | None = None


@dataclass(frozen=True)
class Prediction:
    predicted: str
    confidence: float


@dataclass
class TrainingProgress:
    epochs: int
    phase: str = "preparing"
    #: Finished epochs, counted from the run's start (a resumed job starts above zero).
    epoch: int = 0
    #: Training batches done in the epoch now running, of ``steps``.
    step: int = 0
    steps: int = 0
    #: The epoch this job started from (its resume point) and seconds spent training since then.
    first_epoch: int = 0
    elapsed_s: float = 0.0
    device: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    pinned: list[PinnedItem] = field(default_factory=list)
    #: One row per finished epoch: one prediction per pinned item, in ``pinned`` order.
    filmstrip: list[list[Prediction]] = field(default_factory=list)
    #: Epoch (as text: JSON keys) → the PNG a generative trainer drew of what that epoch's model makes,
    #: named within the job's checkpoint folder.
    pictures: dict[str, str] = field(default_factory=dict)
    #: What the pictures' rows and columns are (labels, seeds).
    picture_caption: str = ""
    #: Why training ended, in words (``stopped early: no better validation accuracy for 11 epochs``).
    stop_reason: str = ""
    #: The run's classical baseline (``canvascraft.training.baseline.Baseline.to_dict``): its name and
    #: validation figures; None for generators, older jobs and a baseline that could not be fitted.
    baseline: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainingProgress | None:
        """Read a job row's progress; ``None`` for rows written by other job kinds or older jobs."""
        if not data or "epochs" not in data or "phase" not in data:
            return None
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["pinned"] = [PinnedItem(**p) for p in data.get("pinned", [])]
        known["filmstrip"] = [[Prediction(**p) for p in row] for row in data.get("filmstrip", [])]
        return cls(**known)

    @property
    def fraction(self) -> float:
        """Share of the planned epochs done, counting the running epoch's finished batches."""
        if self.epochs <= 0:
            return 0.0
        partial = self.step / self.steps if self.steps and self.epoch < self.epochs else 0.0
        return min(1.0, (self.epoch + partial) / self.epochs)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at this job's own pace so far; ``None`` until a batch has finished.

        Early stopping can end a run sooner, so this is an upper bound."""
        done = self.fraction * self.epochs - self.first_epoch
        if self.phase != "training" or done <= 0 or self.elapsed_s <= 0:
            return None
        remaining = self.epochs * (1.0 - self.fraction)
        return self.elapsed_s / done * remaining
