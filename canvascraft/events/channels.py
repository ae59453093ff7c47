"""Alert channels: where a delivery goes (a webhook URL, an email address, …) and how it is sent.

A channel is a small class declared by its own module and registered here with ``register_channel``;
``CHANNEL_MODULES`` lists the studio's own by module name, imported on the first lookup, so this module
depends on none of them and the outbox knows no channel by name. Alert settings store (channel, target)
pairs; the outbox reads a delivery's channel name, asks ``get_channel`` for the class and sends through
an instance of it.

A new channel is one module: subclass ``AlertChannel``, decorate it with ``register_channel`` and add
the module's name to ``CHANNEL_MODULES`` (so every process that delivers, the studio, the CLI and job
processes, finds it). Its test inherits ``canvascraft.testing.channels.AlertChannelContract``.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from canvascraft.events.message import AlertMessage
from canvascraft.registry import Registry

CHANNEL_MODULES = (
    "canvascraft.events.observers.webhook",
    "canvascraft.events.observers.email",
)
"""Modules whose import registers the studio's alert channels."""

MAX_NAME_LENGTH = 16
"""``alert_deliveries.channel`` holds the name; a longer one could not be stored."""
MAX_TARGET_LENGTH = 2000
"""``alert_deliveries.target`` holds the target; the settings refuse a longer one for every channel."""


class AlertChannel:
    """Base of every alert channel. ``__init__`` takes only optional arguments: the outbox makes one
    with none for each delivery round, so anything a channel needs (a server address) comes from the
    studio's settings read at send time, and tests pass their own.

    ``check_target`` runs when settings are saved, so a typo is refused before any alert is raised;
    ``send`` runs in the outbox, possibly from several threads or processes at once, and may run more
    than once for one delivery (a sender that died mid-send is retried), so a receiver may get a copy:
    ``message.correlation_id`` is the same in each.
    """

    name: ClassVar[str]
    """Stable identifier kept in settings and deliveries; renaming one orphans saved targets."""
    summary: ClassVar[str] = ""
    """One line for the CLI's help and the settings form."""
    target_label: ClassVar[str] = "target"
    """What a target is called in forms and error messages (``webhook URL``, ``email recipients``)."""
    modality: ClassVar[None] = None  # the registry filters by modality; channels have none

    @classmethod
    def check_target(cls, target: str) -> str:
        """The target cleaned (stripped, normalised), or ``AlertError`` whose message starts with
        ``target_label``, quotes the target and says how to write a good one."""
        raise NotImplementedError

    def send(self, target: str, message: AlertMessage) -> None:
        """Deliver ``message`` to ``target``: return on success, raise ``DeliveryError`` with a short
        reason naming the target otherwise (the outbox keeps the reason and retries later). Any other
        exception is treated as a bug in the channel and retried all the same."""
        raise NotImplementedError


CHANNELS: Registry[type[AlertChannel]] = Registry("alert channel", CHANNEL_MODULES)
T = TypeVar("T", bound=type[AlertChannel])


def register_channel(cls: T) -> T:
    """Class decorator: add ``cls`` under its ``name`` (the same name twice is a mistake)."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or name != name.strip().lower() or ":" in name:
        raise ValueError(f"an alert channel's name must be a lower-case word without ':', got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"alert channel name {name!r} is longer than {MAX_NAME_LENGTH} characters")
    CHANNELS.register(cls)
    return cls


def get_channel(name: str) -> type[AlertChannel]:
    """The channel called ``name``; raises ``UnknownNameError`` naming the closest known channels."""
    return CHANNELS.get(name)


def all_channels() -> list[type[AlertChannel]]:
    """Every registered channel, the studio's own first (in ``CHANNEL_MODULES`` order)."""
    return CHANNELS.all()
