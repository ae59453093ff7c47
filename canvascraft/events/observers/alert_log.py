"""The alert log: every published event becomes an ``alerts`` row, and the events a model's people
asked for get one outbox row per target in the model's settings (webhook, email addresses, any other
registered channel's targets), tried at once.

The row is written first and in its own transaction, so an alert is never lost to a slow or failing
endpoint: what is not delivered now stays in the outbox and ``deliver_due`` sends it later. Events that
concern no model (a training run not registered as one) are logged under model ``""``, shown as
"studio", with the studio-wide settings saved under that name.
"""

from __future__ import annotations

from collections.abc import Mapping

from canvascraft.events.message import Channel
from canvascraft.events.outbox import PENDING, deliver
from canvascraft.events.settings import settings_in
from canvascraft.events.types import Event
from canvascraft.store.models import Alert, AlertDelivery, utcnow
from canvascraft.store.session import open_session


def record(event: Event, url: str | None = None) -> tuple[int, list[int]]:
    """Write the alert and its deliveries; returns (alert id, delivery ids)."""
    now = utcnow()
    with open_session(url) as session:
        settings = settings_in(session, event.model)
        alert = Alert(
            event=event.name,
            model_name=event.model,
            correlation_id=event.correlation_id,
            title=event.title(),
            body=event.body(),
            payload=event.to_dict(),
            created_at=now,
        )
        if settings.wants(event.name):
            alert.deliveries = [
                AlertDelivery(channel=channel, target=target, state=PENDING, attempts=0, next_attempt_at=now)
                for channel, target in settings.targets
            ]
        session.add(alert)
        session.flush()
        return alert.id, [delivery.id for delivery in alert.deliveries]


class AlertLog:
    """Bus subscriber for every event. ``deliver_now=False`` leaves sending to ``deliver_due`` (for a
    producer that must not wait on the network); ``channels`` replaces registered channels by name."""

    name = "alert-log"

    def __init__(
        self,
        url: str | None = None,
        *,
        deliver_now: bool = True,
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self.url = url
        self.deliver_now = deliver_now
        self.channels = channels

    def __call__(self, event: Event) -> None:
        _alert_id, delivery_ids = record(event, self.url)
        if self.deliver_now and delivery_ids:
            deliver(delivery_ids, url=self.url, channels=self.channels)
