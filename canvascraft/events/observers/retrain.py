"""The retrain observer: drift on a model with auto-retrain on starts a retrain (cool-down permitting).

The default bus subscribes ``on_event`` for ``EVENT_TYPES``. ``RetrainRequested`` is what
``request_retrain`` itself announces, so the observer only notes it in the log (acting on it would
start a second retrain); ``DriftDetected`` is what starts one. Whether the new version replaces the
current one, at once or after approval, is ``canvascraft.retrain.flow``'s business.
"""

from __future__ import annotations

import logging

from canvascraft.events.settings import get_alert_settings
from canvascraft.events.types import DriftDetected, Event, RetrainRequested

log = logging.getLogger(__name__)

EVENT_TYPES = (DriftDetected, RetrainRequested)


def on_event(event: Event) -> int | None:
    """Start a retrain for drift on a model with ``auto_retrain`` on; returns its id (None: nothing
    started, because auto-retrain is off, the cool-down skipped it, or the drift came from new files
    nobody labelled yet, so the dataset holds nothing the model has not learned)."""
    if isinstance(event, RetrainRequested):
        log.info("retrain requested for %s: %s", event.model_ref, event.reason)
        return None
    if not isinstance(event, DriftDetected) or not get_alert_settings(event.model_name).auto_retrain:
        return None
    from canvascraft.gallery.registry import parse_ref
    from canvascraft.retrain.flow import request_retrain
    from canvascraft.retrain.labelling import retrain_advice

    if parse_ref(event.model_ref)[1] is None:
        log.warning("auto-retrain skipped: %s names a version, not an alias to move", event.model_ref)
        return None
    advice = retrain_advice(event.model_ref)
    if advice.same_data and advice.unlabelled_check is not None:
        # The drifted files are not in the dataset yet: a retrain would relearn what the model knows.
        log.warning(
            "auto-retrain of %s skipped: retraining on %s v%s would learn nothing new; label and add "
            "check %s's %s new items on the Drift page, then retrain on the new version",
            event.model_ref, advice.dataset, advice.latest_version, advice.unlabelled_check,
            advice.unlabelled_items,
        )  # fmt: skip
        return None
    drifted = ", ".join(event.drifted_features) or "its predictions"
    return request_retrain(
        event.model_ref,
        reason=f"drift check {event.check_id} found drift ({drifted})",
        check_id=event.check_id,
        trigger="drift",
    )
