"""One epoch's figures, the record the loop, tracking, progress and trials share.

Its own module (importing nothing of the project) so that readers of results, MLflow logging among
them, do not pull in the loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EpochResult:
    """One finished epoch: ``metrics`` by logged name (``train_loss``, ``val_accuracy``…, whatever
    the trainer's objective reports). Training metrics are gathered during the pass itself (augmented
    items, dropout on, weights changing), so they read a little worse than the validation ones may."""

    epoch: int
    metrics: dict[str, float]
    seconds: float
    is_best: bool

    def __getitem__(self, key: str) -> float:
        return self.metrics[key]

    def __getattr__(self, key: str) -> float:
        """A metric as an attribute (``result.val_loss``), for code that knows its trainer's names."""
        try:
            return self.__dict__["metrics"][key]
        except KeyError:
            raise AttributeError(f"epoch result has no metric {key!r}") from None

    def as_row(self) -> dict[str, Any]:
        """The flat row progress, checkpoints and trials keep: ``epoch``, each metric, ``seconds``,
        ``is_best`` (the same shape runs have always stored, so old rows read back)."""
        return {"epoch": self.epoch, **self.metrics, "seconds": self.seconds, "is_best": self.is_best}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EpochResult:
        metrics = {k: float(v) for k, v in row.items() if k not in ("epoch", "seconds", "is_best")}
        return cls(int(row["epoch"]), metrics, float(row["seconds"]), bool(row["is_best"]))
