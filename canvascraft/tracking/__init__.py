"""MLflow helpers: one explicit client on the configured store, one run per training job."""

from canvascraft.tracking.runs import TrainingRun, ensure_experiment, tracking_client

__all__ = ["TrainingRun", "ensure_experiment", "tracking_client"]
