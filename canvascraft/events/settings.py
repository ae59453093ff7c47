"""Per-model alert settings: who hears about which events, and whether drift retrains the model.

Read by the alert log (which deliveries to queue) and by the retrain observer (``auto_retrain``,
``ask_first``, ``cooldown_s``); written by the Drift page and ``canvascraft alerts settings``. Every
value is checked before it is saved, and each error names the field and what to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from canvascraft.errors import AlertError
from canvascraft.events.types import EVENT_TYPES
from canvascraft.store.models import DEFAULT_ALERT_EVENTS, AlertSettings, as_utc, utcnow
from canvascraft.store.session import open_session

EVENT_NAMES: dict[str, str] = {
    "drift_detected": "Drift detected",
    "check_completed": "Every drift check (drifted or not)",
    "training_completed": "Training finished",
    "training_failed": "Training failed",
    "retrain_requested": "Retraining requested",
}
"""Event name → label for forms; the same names as ``EVENT_TYPES``."""
assert set(EVENT_NAMES) == set(EVENT_TYPES)

DEFAULT_COOLDOWN_S = 3600
MAX_URL_LENGTH = 2000
# Deliberately simple: one @, no spaces, a dot in the domain. The SMTP server is the real judge.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
DURATION_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class AlertSettingsView:
    """One model's alert settings as plain data; ``saved`` is False for the defaults of a model never set."""

    model_name: str
    webhook_url: str | None = None
    slack_format: bool = False
    emails: tuple[str, ...] = ()
    events: tuple[str, ...] = DEFAULT_ALERT_EVENTS
    auto_retrain: bool = False
    ask_first: bool = True
    cooldown_s: int = DEFAULT_COOLDOWN_S
    updated_at: datetime | None = None
    saved: bool = False

    def wants(self, event_name: str) -> bool:
        return event_name in self.events

    @property
    def targets(self) -> list[tuple[str, str]]:
        """(channel, target) of every delivery an alert of a wanted event gets."""
        found = [("webhook", self.webhook_url)] if self.webhook_url else []
        return found + [("email", address) for address in self.emails]

    def to_dict(self) -> dict[str, object]:
        return {
            "model_name": self.model_name,
            "webhook_url": self.webhook_url,
            "slack_format": self.slack_format,
            "emails": list(self.emails),
            "events": list(self.events),
            "auto_retrain": self.auto_retrain,
            "ask_first": self.ask_first,
            "cooldown_s": self.cooldown_s,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


def _view(row: AlertSettings) -> AlertSettingsView:
    return AlertSettingsView(
        model_name=row.model_name,
        webhook_url=row.webhook_url,
        slack_format=row.slack_format,
        emails=tuple(row.emails or ()),
        events=tuple(row.events or ()),
        auto_retrain=row.auto_retrain,
        ask_first=row.ask_first,
        cooldown_s=row.cooldown_s,
        updated_at=as_utc(row.updated_at),
        saved=True,
    )


def settings_in(session: Session, model_name: str) -> AlertSettingsView:
    """The settings of ``model_name`` read in an open session (the alert log's transaction)."""
    row = session.scalars(select(AlertSettings).where(AlertSettings.model_name == model_name)).one_or_none()
    return _view(row) if row is not None else AlertSettingsView(model_name=model_name)


def get_alert_settings(model_name: str, url: str | None = None) -> AlertSettingsView:
    """The model's settings, or the defaults (nobody told, no auto-retrain) when never saved."""
    with open_session(url) as session:
        return settings_in(session, model_name)


def check_webhook_url(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise AlertError(
            f"webhook URL: {value!r} is not an http:// or https:// address; "
            "paste the full URL, e.g. https://hooks.slack.com/services/…"
        )
    if len(value) > MAX_URL_LENGTH:
        raise AlertError(f"webhook URL: longer than {MAX_URL_LENGTH} characters; use a shorter address")
    return value


def check_emails(values: Iterable[str]) -> tuple[str, ...]:
    """Addresses stripped, empty ones dropped, duplicates removed (order kept); a bad one is an error."""
    found: list[str] = []
    for raw in values:
        for address in re.split(r"[,;\s]+", raw or ""):
            if not address:
                continue
            if not EMAIL_PATTERN.match(address):
                raise AlertError(
                    f"email recipients: {address!r} is not an email address; write it as name@example.com"
                )
            if address not in found:
                found.append(address)
    return tuple(found)


def check_events(values: Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return DEFAULT_ALERT_EVENTS
    names: list[str] = []
    for raw in values:
        for name in (part.strip() for part in raw.split(",")):
            if not name:
                continue
            if name not in EVENT_TYPES:
                raise AlertError(f"events: {name!r} is not an event; choose from {', '.join(EVENT_TYPES)}")
            if name not in names:
                names.append(name)
    return tuple(names)


def check_cooldown(value: int | float) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AlertError(
            f"cool-down: {value!r} is not a number of seconds of 0 or more; "
            "use 0 to allow a retrain after every drift, or e.g. 3600 for one an hour"
        )
    return int(value)


def parse_duration(text: str) -> int:
    """Seconds from ``90``, ``90s``, ``15m``, ``1h`` or ``2d`` (the CLI's ``--cooldown``)."""
    match = DURATION_PATTERN.match(text or "")
    if not match:
        raise AlertError(f"cool-down: {text!r} is not a duration; write it as 90s, 15m, 1h or 2d")
    return int(float(match.group(1)) * DURATION_UNITS[(match.group(2) or "s").lower()])


def save_alert_settings(
    model_name: str,
    *,
    webhook_url: str | None = None,
    slack_format: bool = False,
    emails: Iterable[str] = (),
    events: Iterable[str] | None = None,
    auto_retrain: bool = False,
    ask_first: bool = True,
    cooldown_s: int | float = DEFAULT_COOLDOWN_S,
    url: str | None = None,
) -> AlertSettingsView:
    """Check every value, then create or replace the model's settings; returns what was saved."""
    if not isinstance(model_name, str) or len(model_name) > 200:
        raise AlertError("model: give the registered model's name (at most 200 characters)")
    values = {
        "webhook_url": check_webhook_url(webhook_url),
        "slack_format": bool(slack_format),
        "emails": list(check_emails([emails] if isinstance(emails, str) else emails)),
        "events": list(check_events([events] if isinstance(events, str) else events)),
        "auto_retrain": bool(auto_retrain),
        "ask_first": bool(ask_first),
        "cooldown_s": check_cooldown(cooldown_s),
        "updated_at": utcnow(),
    }
    with open_session(url) as session:
        row = session.scalars(
            select(AlertSettings).where(AlertSettings.model_name == model_name)
        ).one_or_none()
        if row is None:
            row = AlertSettings(model_name=model_name)
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        session.flush()
        return _view(row)
