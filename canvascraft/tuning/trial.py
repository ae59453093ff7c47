"""The trial side of ask-and-tell: a training job that is a study's trial reports each epoch's metric
to Optuna and stops when the study's pruner says so."""

from __future__ import annotations

from typing import Any

import optuna

from canvascraft.tuning import studies


class TrialReporter:
    """Reports to the trial the driver asked for; ``spec`` is the ``study`` part of a trial job's spec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.metric = str(spec["metric"])
        self.trial = optuna.trial.Trial(studies.load(spec["name"]), int(spec["trial_id"]))

    def report(self, epoch: int, metrics: dict[str, float]) -> None:
        """Record the epoch's metric; raises ``optuna.TrialPruned`` when the pruner stops the trial."""
        value = float(metrics[self.metric])
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"pruned after epoch {epoch}: {self.metric} {value:.4f} trails the study"
            )
