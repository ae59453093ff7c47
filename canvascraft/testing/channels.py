"""``AlertChannelContract``: what the outbox and the settings rely on from every alert channel.

A channel's test subclasses it and provides four fixtures:

- ``channel_class``: the registered class (``canvascraft.events.channels.register_channel``);
- ``inbox``: an ``Inbox``, a real receiver on this machine (``canvascraft.testing.servers`` has an HTTP
  receiver and an SMTP server; ``webhook_inbox`` and ``email_inbox`` adapt them) and the target that
  reaches it;
- ``channel``: an instance of the class that sends to ``inbox.target``;
- ``unreachable``: (an instance, a target) where nothing answers: a port nobody listens on.

and sets ``bad_targets``, targets its ``check_target`` must refuse. Nothing is mocked: every message
goes through the channel's own ``send`` to a server that really receives it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from canvascraft.errors import AlertError, DeliveryError
from canvascraft.events.channels import MAX_NAME_LENGTH, AlertChannel, get_channel
from canvascraft.events.message import AlertMessage
from canvascraft.events.outbox import LEASE_S
from canvascraft.testing.servers import WAIT_S, Mailbox, Receiver

SETTLE_S = 0.5
"""How long a check waits for copies that may or may not come (a channel may drop a duplicate)."""
THREADS = 4


@dataclass(frozen=True)
class Inbox:
    """A real receiver: the ``target`` that reaches it, and ``read(count, timeout)``, which waits until
    ``count`` messages arrived (or the timeout passed) and returns every message so far as text."""

    target: str
    read: Callable[[int, float], list[str]]


def webhook_inbox(receiver: Receiver) -> Inbox:
    """The HTTP receiver as an inbox: each request's JSON body, as text."""
    return Inbox(
        receiver.url,
        lambda count, timeout: [json.dumps(r.body) for r in receiver.wait_for(count, timeout)],
    )


def email_inbox(mailbox: Mailbox, address: str) -> Inbox:
    """The SMTP server as an inbox for ``address``: each message as it arrived (headers and text)."""

    def read(count: int, timeout: float) -> list[str]:
        envelopes = mailbox.wait_for(count, timeout)
        return [e.original_content.decode(errors="replace") for e in envelopes if address in e.rcpt_tos]

    return Inbox(address, read)


def contract_message(**changes: Any) -> AlertMessage:
    """An alert as the outbox hands it to a channel, with its own correlation id."""
    values: dict[str, Any] = {
        "alert_id": 1,
        "event": "drift_detected",
        "model_name": "contract",
        "correlation_id": uuid.uuid4().hex,
        "title": "Drift detected on contract@champion",
        "body": "hue moved up by 0.4 standard deviations",
        "link": "http://127.0.0.1:8501/drift?model=contract",
        "at": datetime.now(UTC),
        "payload": {"event": "drift_detected", "check_id": 1},
    }
    return AlertMessage(**{**values, **changes})


class AlertChannelContract:
    bad_targets: ClassVar[tuple[str, ...]] = ()

    def test_is_registered_with_what_forms_and_the_outbox_need(
        self, channel_class: type[AlertChannel]
    ) -> None:
        assert issubclass(channel_class, AlertChannel)
        assert get_channel(channel_class.name) is channel_class, "register it with register_channel"
        name = channel_class.name
        assert name == name.lower() and ":" not in name and len(name) <= MAX_NAME_LENGTH
        assert channel_class.summary.strip() and channel_class.target_label.strip()
        assert isinstance(channel_class(), AlertChannel), "the outbox makes one with no arguments"

    def test_a_message_reaches_a_real_receiver(self, channel: AlertChannel, inbox: Inbox) -> None:
        assert type(channel).check_target(inbox.target) == inbox.target, "the receiver's target is valid"
        message = contract_message()
        channel.send(inbox.target, message)
        (text,) = inbox.read(1, WAIT_S)
        assert message.correlation_id in text, "the correlation id travels with every delivery"
        assert message.title in text

    def test_a_bad_target_is_refused_naming_it(self, channel_class: type[AlertChannel]) -> None:
        assert self.bad_targets, "list a few targets check_target must refuse in bad_targets"
        for bad in self.bad_targets:
            with pytest.raises(AlertError) as refused:
                channel_class.check_target(bad)
            message = str(refused.value)
            assert message.startswith(f"{channel_class.target_label}: "), message
            assert bad.strip() in message, f"the message should quote {bad!r}: {message}"

    def test_a_receiver_that_is_down_raises_delivery_error(
        self, unreachable: tuple[AlertChannel, str]
    ) -> None:
        channel, target = unreachable
        start = time.monotonic()
        with pytest.raises(DeliveryError) as failed:
            channel.send(target, contract_message())
        assert str(failed.value).strip(), "the reason is kept as the delivery's last error"
        assert time.monotonic() - start < LEASE_S, "a send must end within the outbox's lease"

    def test_sending_twice_is_safe(self, channel: AlertChannel, inbox: Inbox) -> None:
        """The outbox may send a delivery again (a sender died after sending, before recording it):
        the second send works too, and every copy carries the same correlation id."""
        message = contract_message()
        channel.send(inbox.target, message)
        channel.send(inbox.target, message)
        texts = inbox.read(2, SETTLE_S)
        assert 1 <= len(texts) <= 2
        assert all(message.correlation_id in text for text in texts)

    def test_sends_from_several_threads_at_once(self, channel: AlertChannel, inbox: Inbox) -> None:
        messages = [contract_message(alert_id=i) for i in range(THREADS)]
        errors: list[BaseException] = []

        def send(message: AlertMessage) -> None:
            try:
                channel.send(inbox.target, message)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=send, args=(m,)) for m in messages]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S * 2)
        assert errors == []
        texts = inbox.read(THREADS, WAIT_S)
        assert sorted(m.correlation_id for m in messages if any(m.correlation_id in t for t in texts)) == (
            sorted(m.correlation_id for m in messages)
        )
