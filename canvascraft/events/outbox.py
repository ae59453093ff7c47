"""The delivery outbox: every alert delivery is a row, so an alert raised while its endpoint is down is
sent when the endpoint comes back, across restarts, and never lost.

A delivery moves ``pending`` → ``delivered``, or → ``retrying`` (next try after an exponential backoff:
2 s, 4 s, 8 s … capped at 10 min, each spread by ±25% jitter) → … → ``dead`` after ``MAX_ATTEMPTS``
failed tries (about two hours of trying). The alert log tries a new alert's deliveries at once; the
studio's scheduler calls ``deliver_due`` every ``alert_retry_s`` for the rest; the page's Retry now
calls ``retry_now``.

Several processes may deliver at once (the studio, the CLI, a drift job): a sender claims a due row
with a conditional UPDATE that bumps ``attempts`` and moves ``next_attempt_at`` ahead by a lease
(``LEASE_S``). Only one UPDATE matches, so a delivery is never sent twice at the same time; if the
sender dies mid-send, the row becomes due again when the lease runs out.

A delivery names its channel; the outbox finds it in the channel registry
(``canvascraft.events.channels``), so it knows no channel by name. A name nothing registered (a channel
module that is gone) is that delivery's error, retried like any other, and never stops the round.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from canvascraft.errors import DeliveryError, UnknownNameError
from canvascraft.events.channels import get_channel
from canvascraft.events.message import AlertMessage, Channel
from canvascraft.store.models import Alert, AlertDelivery, AlertSettings, as_utc, utcnow
from canvascraft.store.session import engine_for, open_session

log = logging.getLogger(__name__)

PENDING, RETRYING, DELIVERED, DEAD = "pending", "retrying", "delivered", "dead"
ACTIVE = (PENDING, RETRYING)
STATES = (PENDING, RETRYING, DELIVERED, DEAD)
BASE_DELAY_S = 2.0
MAX_DELAY_S = 600.0
MAX_ATTEMPTS = 20
LEASE_S = 60.0
"""How long a claimed delivery is left to its sender; longer than any channel's timeout."""
BATCH = 200
ERROR_CHARS = 500


JITTER = 0.5
"""The share of each backoff drawn at random (±25%): alerts that failed together against one endpoint
spread out instead of all trying it again in the same second."""


def backoff_s(attempts: int, draw: float | None = None) -> float:
    """Seconds to wait after the ``attempts``-th failed try: about 2, 4, 8 … capped at ``MAX_DELAY_S``,
    each times 0.75–1.25 (``draw`` in [0, 1), random unless given; 0.5 gives the plain doubling)."""
    spread = 1 - JITTER / 2 + JITTER * (random.random() if draw is None else draw)
    return min(BASE_DELAY_S * 2 ** max(attempts - 1, 0) * spread, MAX_DELAY_S)


class _Channels:
    """A round's senders: ``given`` ones by name first, else one instance per registered channel,
    made on first use (a round that sends no email never builds the email channel)."""

    def __init__(self, given: Mapping[str, Channel] | None) -> None:
        self._made: dict[str, Channel] = dict(given or {})

    def __getitem__(self, name: str) -> Channel:
        channel = self._made.get(name)
        if channel is None:
            channel = self._made[name] = get_channel(name)()  # UnknownNameError for a name not registered
        return channel


def _utc(moment: datetime | None) -> datetime:
    return utcnow() if moment is None else as_utc(moment)


@dataclass(frozen=True)
class DeliveryReport:
    """What one round did: deliveries tried, delivered, left to retry, and dead-lettered."""

    tried: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.tried + other.tried,
            self.delivered + other.delivered,
            self.retrying + other.retrying,
            self.dead + other.dead,
        )


def _due(url: str, now: datetime, ids: Iterable[int] | None, limit: int) -> list[tuple[int, int]]:
    query = (
        select(AlertDelivery.id, AlertDelivery.attempts)
        .where(AlertDelivery.state.in_(ACTIVE), AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(AlertDelivery.id.in_(list(ids)))
    with engine_for(url).connect() as connection:
        return [(row.id, row.attempts) for row in connection.execute(query)]


def _claim(url: str, delivery_id: int, seen_attempts: int, now: datetime) -> bool:
    """Take the row for this sender: only one of several concurrent claims matches."""
    with engine_for(url).begin() as connection:
        result = connection.execute(
            update(AlertDelivery)
            .where(
                AlertDelivery.id == delivery_id,
                AlertDelivery.attempts == seen_attempts,
                AlertDelivery.state.in_(ACTIVE),
                AlertDelivery.next_attempt_at <= now,
            )
            .values(attempts=seen_attempts + 1, next_attempt_at=now + timedelta(seconds=LEASE_S))
        )
        return result.rowcount == 1


def _message(url: str, delivery_id: int) -> tuple[str, str, AlertMessage]:
    query = (
        select(AlertDelivery.channel, AlertDelivery.target, Alert, AlertSettings.slack_format)
        .join(Alert, Alert.id == AlertDelivery.alert_id)
        .outerjoin(AlertSettings, AlertSettings.model_name == Alert.model_name)
        .where(AlertDelivery.id == delivery_id)
    )
    with open_session(url) as session:
        channel, target, alert, slack = session.execute(query).one()
        message = AlertMessage(
            alert_id=alert.id,
            event=alert.event,
            model_name=alert.model_name,
            correlation_id=alert.correlation_id,
            title=alert.title,
            body=alert.body,
            link=str(alert.payload.get("link") or ""),
            at=_utc(alert.created_at),
            payload=dict(alert.payload),
            slack_format=bool(slack),
        )
    return channel, target, message


def _record(
    url: str,
    delivery_id: int,
    attempts: int,
    now: datetime,
    error: str | None,
    max_attempts: int,
    retry_after_s: float | None = None,
) -> str:
    """Write the outcome of try number ``attempts``; conditional on it, so a stale sender changes nothing.
    The next try waits the backoff, or what the endpoint asked for when longer (up to the cap)."""
    if error is None:
        values: dict[str, object] = {"state": DELIVERED, "delivered_at": utcnow(), "last_error": None}
    elif attempts >= max_attempts:
        values = {"state": DEAD, "last_error": error[:ERROR_CHARS]}
    else:
        values = {
            "state": RETRYING,
            "last_error": error[:ERROR_CHARS],
            "next_attempt_at": now
            + timedelta(seconds=max(backoff_s(attempts), min(retry_after_s or 0.0, MAX_DELAY_S))),
        }
    with engine_for(url).begin() as connection:
        connection.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id == delivery_id, AlertDelivery.attempts == attempts)
            .values(**values)
        )
    return str(values["state"])


def deliver(
    ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
    url: str | None = None,
    channels: Mapping[str, Channel] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = BATCH,
) -> DeliveryReport:
    """Try the due deliveries (only ``ids`` when given) once each; returns what happened. ``now`` is the
    clock used for due-ness and the next try (tests pass a later one instead of sleeping); ``channels``
    puts senders of one's own in place of registered channels of the same name."""
    from canvascraft.config import get_settings

    url = url or get_settings().db_url
    now = _utc(now)
    senders = _Channels(channels)
    report = DeliveryReport()
    for delivery_id, seen in _due(url, now, ids, limit):
        if not _claim(url, delivery_id, seen, now):
            continue  # another sender has it
        attempts = seen + 1
        error: str | None
        wait: float | None = None
        try:
            channel_name, target, message = _message(url, delivery_id)
            senders[channel_name].send(target, message)
            error = None
        except (DeliveryError, UnknownNameError) as failure:
            error = str(failure)
            wait = getattr(failure, "retry_after_s", None)
        except Exception as failure:  # a channel bug must not stop the other deliveries
            log.exception("alert delivery %s failed unexpectedly", delivery_id)
            error = f"{type(failure).__name__}: {failure}"
        state = _record(url, delivery_id, attempts, now, error, max_attempts, wait)
        if error is not None:
            log.warning("alert delivery %s (try %s) failed: %s; now %s", delivery_id, attempts, error, state)
        report = report + DeliveryReport(
            tried=1, delivered=state == DELIVERED, retrying=state == RETRYING, dead=state == DEAD
        )
    return report


def deliver_due(
    now: datetime | None = None,
    *,
    url: str | None = None,
    channels: Mapping[str, Channel] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """Try every pending or retrying delivery whose next try has come; returns how many were delivered.
    Safe to call from several processes at once (each delivery is claimed before it is sent)."""
    total = DeliveryReport()
    while True:
        report = deliver(now=now, url=url, channels=channels, max_attempts=max_attempts)
        total = total + report
        if report.tried < BATCH:
            return total.delivered


def retry_now(
    alert_id: int,
    *,
    url: str | None = None,
    channels: Mapping[str, Channel] | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Make the alert's undelivered deliveries due now and try them. A dead-lettered one starts a fresh
    series of tries (a person asked for it, usually after fixing the endpoint)."""
    from canvascraft.config import get_settings

    url = url or get_settings().db_url
    now = _utc(now)
    with engine_for(url).begin() as connection:
        connection.execute(
            update(AlertDelivery)
            .where(AlertDelivery.alert_id == alert_id, AlertDelivery.state.in_(ACTIVE))
            .values(next_attempt_at=now)
        )
        connection.execute(
            update(AlertDelivery)
            .where(AlertDelivery.alert_id == alert_id, AlertDelivery.state == DEAD)
            .values(state=RETRYING, attempts=0, next_attempt_at=now)
        )
        ids = list(
            connection.execute(select(AlertDelivery.id).where(AlertDelivery.alert_id == alert_id)).scalars()
        )
    return deliver(ids, now=now, url=url, channels=channels)
