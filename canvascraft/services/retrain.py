"""Retrain actions for pages and the CLI: request, follow, approve or reject, the side-by-side view.

The machinery (states, the comparison on the same items, the promotion rule) is
``canvascraft.retrain.flow``; the training job's end finishes a retrain through the ``train`` kind.
"""

from canvascraft.errors import RetrainError
from canvascraft.retrain.flow import (
    COMPARING,
    FAILED,
    FINAL,
    IN_FLIGHT,
    KEPT,
    PENDING,
    PROMOTED,
    REJECTED,
    SIDE_ROWS,
    STATE_WORDS,
    TRAINING,
    RetrainView,
    SideBySide,
    SideItem,
    approve,
    compare_on_same_items,
    finish_retrain,
    get_retrain,
    is_better,
    list_retrains,
    reject,
    request_retrain,
    side_by_side,
    training_settings,
    wait_for_retrain,
)

__all__ = [
    "COMPARING",
    "FAILED",
    "FINAL",
    "IN_FLIGHT",
    "KEPT",
    "PENDING",
    "PROMOTED",
    "REJECTED",
    "SIDE_ROWS",
    "STATE_WORDS",
    "TRAINING",
    "RetrainError",
    "RetrainView",
    "SideBySide",
    "SideItem",
    "approve",
    "compare_on_same_items",
    "finish_retrain",
    "get_retrain",
    "is_better",
    "list_retrains",
    "reject",
    "request_retrain",
    "side_by_side",
    "training_settings",
    "wait_for_retrain",
]
