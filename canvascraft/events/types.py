"""The studio's events: typed, immutable facts that producers publish and observers read.

An event carries everything an observer needs (names, ids, a link back into the studio), so an
observer never has to ask the producer anything: producers and consumers never know each other.
Each event has a ``correlation_id`` that follows it into the alert log and every delivery, so one
drift check can be traced from the check to the webhook that announced it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, ClassVar

from canvascraft.observability.logs import current_correlation_id


def _new_id() -> str:
    """The chain the event is published in (``canvascraft.observability.logs.correlation``), so what
    it sets off is logged under the same id; a new one when it starts a chain."""
    return current_correlation_id() or uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_safe(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Base of every event. ``name`` (class level) is the stable identifier used in settings, the
    alert log and payloads; renaming one breaks saved alert settings, so names never change."""

    name: ClassVar[str] = "event"

    correlation_id: str = field(default_factory=_new_id)
    at: datetime = field(default_factory=_now)

    @property
    def model(self) -> str:
        """The model the event concerns; ``""`` for studio-wide events (a run not yet registered)."""
        return getattr(self, "model_name", None) or ""

    @property
    def url(self) -> str:
        """A link back into the studio where the event can be looked at (may be empty)."""
        return getattr(self, "link", "") or ""

    def title(self) -> str:
        """One line a person understands without context: the subject of an email, a chat headline."""
        return self.name.replace("_", " ")

    def body(self) -> str:
        """A few lines of plain text with the details; the channel adds the link, when there is one."""
        return ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the event name, every field (tuples as lists, times in ISO 8601 with the zone)."""
        data: dict[str, Any] = {"event": self.name}
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "metrics":
                data[item.name] = {key: float(number) for key, number in value}
            else:
                data[item.name] = _json_safe(value)
        return data


@dataclass(frozen=True, kw_only=True, slots=True)
class DriftDetected(Event):
    """A drift check found the model's current data has moved away from its training data."""

    name: ClassVar[str] = "drift_detected"

    model_name: str
    model_ref: str
    model_version: int | None
    check_id: int
    drifted_features: tuple[str, ...]
    sentences: tuple[str, ...]
    link: str

    def title(self) -> str:
        count = len(self.drifted_features)
        what = f"{count} feature{'s' if count != 1 else ''}" if count else "its predictions"
        return f"Drift detected on {self.model_ref}: {what} moved (check {self.check_id})"

    def body(self) -> str:
        lines = [f"Drift check {self.check_id} on {self.model_ref} found drift."]
        if self.drifted_features:
            lines.append("Drifted: " + ", ".join(self.drifted_features))
        lines.extend(f"- {sentence}" for sentence in self.sentences)
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckCompleted(Event):
    """A drift check finished, drifted or not (for people who want to hear every check)."""

    name: ClassVar[str] = "check_completed"

    model_name: str
    model_ref: str
    model_version: int | None
    check_id: int
    drifted: bool
    link: str

    def title(self) -> str:
        verdict = "drift found" if self.drifted else "no drift"
        return f"Drift check {self.check_id} on {self.model_ref} finished: {verdict}"

    def body(self) -> str:
        if self.drifted:
            return (
                f"Drift check {self.check_id} on {self.model_ref} found drift; open it to see which features."
            )
        return f"Drift check {self.check_id} on {self.model_ref} found no drift."


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingCompleted(Event):
    """A training job succeeded; ``metrics`` are its final figures as (name, value) pairs."""

    name: ClassVar[str] = "training_completed"

    job_id: int
    run_id: str | None
    dataset: str
    trainer: str
    metrics: tuple[tuple[str, float], ...]
    model_name: str | None = None
    link: str = ""

    def title(self) -> str:
        subject = f" for {self.model_name}" if self.model_name else ""
        return f"Training job {self.job_id}{subject} finished ({self.trainer} on {self.dataset})"

    def body(self) -> str:
        lines = [f"Training job {self.job_id} ({self.trainer} on {self.dataset}) finished."]
        if self.run_id:
            lines.append(f"MLflow run: {self.run_id}")
        lines.extend(f"- {key}: {value:.4g}" for key, value in self.metrics)
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainingFailed(Event):
    """A training job failed, was cancelled or was lost; ``reason`` says why in plain words."""

    name: ClassVar[str] = "training_failed"

    job_id: int
    reason: str
    dataset: str
    trainer: str
    model_name: str | None = None
    link: str = ""

    def title(self) -> str:
        subject = f" for {self.model_name}" if self.model_name else ""
        return f"Training job {self.job_id}{subject} failed ({self.trainer} on {self.dataset})"

    def body(self) -> str:
        return f"Training job {self.job_id} ({self.trainer} on {self.dataset}) failed: {self.reason}"


@dataclass(frozen=True, kw_only=True, slots=True)
class RetrainRequested(Event):
    """Someone (a person, or the retrain observer after drift) asked for the model to be retrained."""

    name: ClassVar[str] = "retrain_requested"

    model_name: str
    model_ref: str
    reason: str
    check_id: int | None = None

    def title(self) -> str:
        return f"Retraining requested for {self.model_ref}"

    def body(self) -> str:
        after = f" after drift check {self.check_id}" if self.check_id is not None else ""
        return f"Retraining of {self.model_ref} was requested{after}: {self.reason}"


EVENT_TYPES: dict[str, type[Event]] = {
    cls.name: cls
    for cls in (DriftDetected, CheckCompleted, TrainingCompleted, TrainingFailed, RetrainRequested)
}
"""Every published event type by its name, in the order forms list them."""


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event ``to_dict`` wrote (the alert log keeps it as the payload), with its own id and time."""
    values = dict(data)
    cls = EVENT_TYPES[values.pop("event")]
    values["at"] = datetime.fromisoformat(values["at"])
    for key, value in list(values.items()):
        if key == "metrics":
            values[key] = tuple((str(k), float(v)) for k, v in value.items())
        elif isinstance(value, list):
            values[key] = tuple(value)
    return cls(**values)
