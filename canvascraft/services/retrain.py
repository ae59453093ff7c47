"""Retrain actions for pages and the CLI: request, follow, approve or reject, the side-by-side view, and
labelling a drift check's new files into a new dataset version to retrain on.

The machinery (states, the comparison on the same items, the promotion rule) is
``canvascraft.retrain.flow``; the training job's end finishes a retrain through the ``train`` kind.
"""

from canvascraft.drift.items import RankedItem
from canvascraft.errors import RetrainError
from canvascraft.retrain.flow import (
    COMPARING,
    FAILED,
    FINAL,
    FOLLOW_S,
    IN_FLIGHT,
    KEPT,
    OLD_DROP_LIMIT,
    PENDING,
    PROMOTED,
    REJECTED,
    SIDE_ROWS,
    STATE_WORDS,
    TRAINING,
    RetrainView,
    SideBySide,
    SideItem,
    compare_on_same_items,
    finish_retrain,
    follow_every,
    get_retrain,
    is_better,
    list_retrains,
    side_by_side,
    training_settings,
    wait_for_retrain,
)
from canvascraft.retrain.flow import approve as _approve
from canvascraft.retrain.flow import reject as _reject
from canvascraft.retrain.flow import request_retrain as _request_retrain
from canvascraft.retrain.labelling import (
    HOLD_BACK,
    CheckItems,
    LabelReport,
    RetrainAdvice,
    check_items,
    choose_held_back,
    clean_label,
    guesses_above,
    retrain_advice,
)
from canvascraft.retrain.labelling import apply_labels as _apply_labels
from canvascraft.services.guard import action

approve = action(
    role="admin", does="approve a retrain", audit="retrain.approve", target="retrain {retrain_id}"
)(_approve)
reject = action(role="admin", does="reject a retrain", audit="retrain.reject", target="retrain {retrain_id}")(
    _reject
)
request_retrain = action(
    role="artist", does="start a retrain", audit="retrain.request", target="{model_ref}"
)(_request_retrain)
apply_labels = action(
    role="artist", does="label and add files to a dataset", audit="dataset.label_and_add",
    target="check {check_id}",
)(_apply_labels)  # fmt: skip

__all__ = [
    "COMPARING",
    "FAILED",
    "FINAL",
    "FOLLOW_S",
    "HOLD_BACK",
    "IN_FLIGHT",
    "KEPT",
    "OLD_DROP_LIMIT",
    "PENDING",
    "PROMOTED",
    "REJECTED",
    "SIDE_ROWS",
    "STATE_WORDS",
    "TRAINING",
    "CheckItems",
    "LabelReport",
    "RankedItem",
    "RetrainAdvice",
    "RetrainError",
    "RetrainView",
    "SideBySide",
    "SideItem",
    "apply_labels",
    "approve",
    "check_items",
    "choose_held_back",
    "clean_label",
    "compare_on_same_items",
    "finish_retrain",
    "follow_every",
    "get_retrain",
    "guesses_above",
    "is_better",
    "list_retrains",
    "reject",
    "request_retrain",
    "retrain_advice",
    "side_by_side",
    "training_settings",
    "wait_for_retrain",
]
