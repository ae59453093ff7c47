"""Per-model alert settings: who hears about which events, and whether drift retrains the model.

Read by the alert log (which deliveries to queue) and by the retrain observer (``auto_retrain``,
``ask_first``, ``cooldown_s``); written by the Drift page and ``canvascraft alerts settings``. Every
value is checked before it is saved, and each error names the field and what to change.

Who hears is a list of (channel, target) pairs: the webhook URL and the email recipients have fields
of their own (the form and the CLI have since the start), and ``channel_targets`` holds targets of any
registered channel (``canvascraft.events.channels``). Each target is checked by its channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from canvascraft.errors import AlertError, UnknownNameError
from canvascraft.events.channels import MAX_TARGET_LENGTH, get_channel
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
DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
DURATION_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class AlertSettingsView:
    """One model's alert settings as plain data; ``saved`` is False for the defaults of a model never set."""

    model_name: str
    webhook_url: str | None = None
    slack_format: bool = False
    emails: tuple[str, ...] = ()
    channel_targets: tuple[tuple[str, str], ...] = ()
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
        """(channel, target) of every delivery an alert of a wanted event gets: the webhook, the emails,
        then the other channels' targets; each pair once (an alert has one delivery per pair)."""
        found = [("webhook", self.webhook_url)] if self.webhook_url else []
        found += [("email", address) for address in self.emails]
        return list(dict.fromkeys([*found, *self.channel_targets]))

    def to_dict(self) -> dict[str, object]:
        return {
            "model_name": self.model_name,
            "webhook_url": self.webhook_url,
            "slack_format": self.slack_format,
            "emails": list(self.emails),
            "channel_targets": [{"channel": c, "target": t} for c, t in self.channel_targets],
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
        channel_targets=tuple((str(t["channel"]), str(t["target"])) for t in row.channel_targets or ()),
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
    """The webhook field: empty means no webhook; anything else is checked by the webhook channel."""
    value = (value or "").strip()
    return get_channel("webhook").check_target(value) if value else None


def check_emails(values: Iterable[str]) -> tuple[str, ...]:
    """Addresses stripped, empty ones dropped, duplicates removed (order kept); a bad one is an error.
    A value may hold several addresses separated by commas, semicolons or spaces (the form's one box)."""
    check = get_channel("email").check_target
    found: list[str] = []
    for raw in values:
        for address in re.split(r"[,;\s]+", raw or ""):
            if address and (address := check(address)) not in found:
                found.append(address)
    return tuple(found)


def parse_channel_target(text: str) -> tuple[str, str]:
    """``CHANNEL:TARGET`` (the CLI's ``--target``, a line of the form's box) as a pair; the target may
    hold colons of its own (``webhook:https://…``)."""
    channel, colon, target = (text or "").partition(":")
    if not colon or not channel.strip() or not target.strip():
        raise AlertError(
            f"channel targets: {text!r} is not CHANNEL:TARGET; write it as e.g. webhook:https://example.com/hook"
        )
    return channel.strip(), target.strip()


def check_channel_targets(pairs: Iterable[tuple[str, str] | str]) -> tuple[tuple[str, str], ...]:
    """Each (channel, target), or ``CHANNEL:TARGET`` text, checked by its channel; duplicates removed
    (order kept). An unknown channel raises ``UnknownNameError`` naming the closest registered ones."""
    found: list[tuple[str, str]] = []
    for pair in pairs:
        name, target = parse_channel_target(pair) if isinstance(pair, str) else pair
        try:
            channel = get_channel(name)
        except UnknownNameError as error:
            raise UnknownNameError(f"channel targets: {error}") from None
        checked = (channel.name, channel.check_target(target))
        if len(checked[1]) > MAX_TARGET_LENGTH:
            raise AlertError(
                f"{channel.target_label}: longer than {MAX_TARGET_LENGTH} characters; use a shorter one"
            )
        if checked not in found:
            found.append(checked)
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
    channel_targets: Iterable[tuple[str, str] | str] = (),
    events: Iterable[str] | None = None,
    auto_retrain: bool = False,
    ask_first: bool = True,
    cooldown_s: int | float = DEFAULT_COOLDOWN_S,
    url: str | None = None,
) -> AlertSettingsView:
    """Check every value, then create or replace the model's settings; returns what was saved (a value
    not given is reset, so callers that change one field pass the others as they were)."""
    if not isinstance(model_name, str) or len(model_name) > 200:
        raise AlertError("model: give the registered model's name (at most 200 characters)")
    values = {
        "webhook_url": check_webhook_url(webhook_url),
        "slack_format": bool(slack_format),
        "emails": list(check_emails([emails] if isinstance(emails, str) else emails)),
        "channel_targets": [
            {"channel": channel, "target": target}
            for channel, target in check_channel_targets(
                [channel_targets] if isinstance(channel_targets, str) else channel_targets
            )
        ],
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
