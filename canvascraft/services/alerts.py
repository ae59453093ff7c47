"""Alert actions for the Drift page and the CLI: settings per model, the alert list with each delivery's
state in words, acknowledge, retry now, and deliver what is due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from canvascraft.errors import UnknownAlertError
from canvascraft.events import outbox
from canvascraft.events.channels import all_channels
from canvascraft.events.settings import (
    EVENT_NAMES,
    AlertSettingsView,
    get_alert_settings,
    parse_duration,
)
from canvascraft.events.settings import save_alert_settings as _save_alert_settings
from canvascraft.services.guard import action
from canvascraft.store.models import Alert, AlertDelivery, as_utc, utcnow
from canvascraft.store.session import open_session

save_alert_settings = action(
    role="admin", does="change alert settings", audit="alerts.settings", target="{model_name}",
    hide=("webhook_url", "channel_targets"),
)(_save_alert_settings)  # fmt: skip

__all__ = [
    "EVENT_NAMES",
    "AlertSettingsView",
    "AlertView",
    "ChannelView",
    "DeliveryView",
    "acknowledge",
    "deliver_due",
    "get_alert_settings",
    "list_alerts",
    "list_channels",
    "parse_duration",
    "retry_now",
    "save_alert_settings",
]

STUDIO = "studio"
"""How alerts of events that concern no model are labelled."""


def _seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


@dataclass(frozen=True)
class ChannelView:
    """A registered alert channel as the settings form and ``alerts channels`` show it."""

    name: str
    summary: str
    target_label: str


def list_channels() -> list[ChannelView]:
    """Every alert channel a target can name, the studio's own first."""
    return [ChannelView(c.name, c.summary, c.target_label) for c in all_channels()]


@dataclass(frozen=True)
class DeliveryView:
    """One delivery of an alert: where it goes and how far it got."""

    id: int
    channel: str
    target: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None

    def describe(self, now: datetime | None = None) -> str:
        """The state in words: ``delivered``, ``retrying (3 tries, next in 8 s)``, ``dead-lettered: …``."""
        tries = f"{self.attempts} {'try' if self.attempts == 1 else 'tries'}"
        if self.state == outbox.DELIVERED:
            return "delivered" if self.attempts <= 1 else f"delivered after {tries}"
        if self.state == outbox.DEAD:
            return f"dead-lettered after {tries}: {self.last_error or 'no reason kept'}"
        wait = (self.next_attempt_at - (now or utcnow())).total_seconds()
        when = f"next in {_seconds(wait)}" if wait > 0 else "due now"
        if self.state == outbox.PENDING:
            return f"pending ({when})"
        reason = f": {self.last_error}" if self.last_error else ""
        return f"retrying ({tries}, {when}){reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "target": self.target,
            "state": self.state,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
        }


@dataclass(frozen=True)
class AlertView:
    """One logged alert with its deliveries (none when nobody asked to hear about this event)."""

    id: int
    event: str
    model_name: str
    correlation_id: str
    title: str
    body: str
    payload: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    deliveries: tuple[DeliveryView, ...]

    @property
    def model_label(self) -> str:
        return self.model_name or STUDIO

    @property
    def event_label(self) -> str:
        return EVENT_NAMES.get(self.event, self.event)

    @property
    def link(self) -> str:
        return str(self.payload.get("link") or "")

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def undelivered(self) -> bool:
        """A delivery is still pending, retrying or dead: Retry now has something to do."""
        return any(d.state != outbox.DELIVERED for d in self.deliveries)

    def delivery_summary(self, now: datetime | None = None) -> str:
        if not self.deliveries:
            return "logged only (nobody asked to hear about this event)"
        return "; ".join(f"{d.channel} {d.target}: {d.describe(now)}" for d in self.deliveries)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "model": self.model_label,
            "correlation_id": self.correlation_id,
            "title": self.title,
            "body": self.body,
            "link": self.link,
            "created_at": self.created_at.isoformat(),
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "deliveries": [d.to_dict() for d in self.deliveries],
            "payload": self.payload,
        }


def _delivery(row: AlertDelivery) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        channel=row.channel,
        target=row.target,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at) or utcnow(),
        last_error=row.last_error,
        delivered_at=as_utc(row.delivered_at),
    )


def _alert(row: Alert) -> AlertView:
    return AlertView(
        id=row.id,
        event=row.event,
        model_name=row.model_name,
        correlation_id=row.correlation_id,
        title=row.title,
        body=row.body,
        payload=dict(row.payload or {}),
        created_at=as_utc(row.created_at) or utcnow(),
        acknowledged_at=as_utc(row.acknowledged_at),
        deliveries=tuple(_delivery(d) for d in row.deliveries),
    )


def _model_key(model_name: str | None) -> str | None:
    if model_name is None:
        return None
    return "" if model_name == STUDIO else model_name


def list_alerts(
    model_name: str | None = None, limit: int = 100, *, unacknowledged: bool = False
) -> list[AlertView]:
    """Newest first; ``model_name`` ``"studio"`` (or ``""``) lists the alerts that concern no model."""
    query = (
        select(Alert).options(selectinload(Alert.deliveries)).order_by(Alert.id.desc()).limit(max(1, limit))
    )
    key = _model_key(model_name)
    if key is not None:
        query = query.where(Alert.model_name == key)
    if unacknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    with open_session() as session:
        return [_alert(row) for row in session.scalars(query)]


def get_alert(alert_id: int) -> AlertView:
    with open_session() as session:
        row = session.get(Alert, alert_id, options=[selectinload(Alert.deliveries)])
        if row is None:
            raise UnknownAlertError(
                f"alert {alert_id}: no such alert; `canvascraft alerts list` shows their ids"
            )
        return _alert(row)


@action(role="artist", does="acknowledge an alert", audit="alert.acknowledge", target="alert {alert_id}")
def acknowledge(alert_id: int) -> AlertView:
    """Mark the alert as seen (acknowledging twice keeps the first time). Deliveries go on regardless."""
    get_alert(alert_id)
    with open_session() as session:
        session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
            .values(acknowledged_at=utcnow())
        )
    return get_alert(alert_id)


@action(role="artist", does="retry an alert's deliveries", audit="alert.retry", target="alert {alert_id}")
def retry_now(alert_id: int) -> AlertView:
    """Try the alert's undelivered deliveries at once (dead-lettered ones get a fresh series of tries)."""
    get_alert(alert_id)
    outbox.retry_now(alert_id)
    return get_alert(alert_id)


def deliver_due() -> int:
    """Send every delivery whose next try has come; returns how many were delivered."""
    return outbox.deliver_due()
