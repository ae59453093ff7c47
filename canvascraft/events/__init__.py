"""Events and the bus: producers publish typed, immutable events; observers subscribe by type.

``publish(event)`` sends an event through this process's default bus, wired on first use with the
studio's observers (the alert log with its webhook and email deliveries, and the retrain observer).
``register_observer`` adds one more to that wiring; ``standard_observers`` lists the studio's own.
"""

from canvascraft.events.bus import (
    EventBus,
    Subscription,
    default_bus,
    publish,
    register_observer,
    reset_default_bus,
    standard_observers,
)
from canvascraft.events.types import (
    EVENT_TYPES,
    CheckCompleted,
    DriftDetected,
    Event,
    RetrainRequested,
    TrainingCompleted,
    TrainingFailed,
    event_from_dict,
)

__all__ = [
    "EVENT_TYPES",
    "CheckCompleted",
    "DriftDetected",
    "Event",
    "EventBus",
    "RetrainRequested",
    "Subscription",
    "TrainingCompleted",
    "TrainingFailed",
    "default_bus",
    "event_from_dict",
    "publish",
    "register_observer",
    "reset_default_bus",
    "standard_observers",
]
