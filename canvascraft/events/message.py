"""What a delivery channel sends: one alert as plain data, and the error a failed send raises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class AlertMessage:
    """One alert as every channel sees it: enough for a webhook body or an email, no database rows."""

    alert_id: int
    event: str
    model_name: str
    correlation_id: str
    title: str
    body: str
    link: str
    at: datetime
    payload: dict[str, Any]
    slack_format: bool = False

    @property
    def model_label(self) -> str:
        return self.model_name or "studio"

    def text(self) -> str:
        """Title-less plain text: the body, then the link to open it in the studio."""
        return f"{self.body}\n\nOpen in the studio: {self.link}" if self.link else self.body


class Channel(Protocol):
    """What the outbox sends through: ``send`` returns on success and raises ``DeliveryError`` with a
    short reason otherwise. Registered channels (``canvascraft.events.channels.AlertChannel``) are the
    usual ones; the outbox's ``channels`` argument may put any object with a ``send`` in their place."""

    def send(self, target: str, message: AlertMessage) -> None: ...
