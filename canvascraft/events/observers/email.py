"""The email channel: a plain-text message over SMTP (host, port and From address from the settings).

The subject is the alert's title, the text its body and the link back into the studio. A refused
connection, a rejected recipient or a timeout raises ``DeliveryError`` and the outbox retries. A target
is one address, checked when the settings are saved (``EmailChannel.check_target``).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from canvascraft.config import get_settings
from canvascraft.errors import AlertError, DeliveryError
from canvascraft.events.channels import AlertChannel, register_channel
from canvascraft.events.message import AlertMessage

TIMEOUT_S = 10.0
# Deliberately simple: one @, no spaces, a dot in the domain. The SMTP server is the real judge.
EMAIL_PATTERN = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")


def build_email(message: AlertMessage, to: str, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = message.title
    email["From"] = sender
    email["To"] = to
    email["Date"] = format_datetime(message.at)
    email["Message-ID"] = make_msgid(idstring=message.correlation_id[:16], domain="canvascraft.local")
    email["X-CanvasCraft-Correlation-Id"] = message.correlation_id
    email["X-CanvasCraft-Event"] = message.event
    footer = (
        f"\n\nModel: {message.model_label}\nEvent: {message.event}\n"
        f"Correlation id: {message.correlation_id}\n"
    )
    email.set_content(message.text() + footer)
    return email


@register_channel
class EmailChannel(AlertChannel):
    """Sends through ``smtp_factory(host, port, timeout)`` (default ``smtplib.SMTP``); host, port and
    sender default to the settings read at send time, so a changed setting applies to the next retry."""

    name = "email"
    summary = "Send each alert as a plain-text email through the studio's SMTP server."
    target_label = "email recipients"

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        sender: str | None = None,
        smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.smtp_factory = smtp_factory
        self.timeout_s = timeout_s

    @classmethod
    def check_target(cls, target: str) -> str:
        """One recipient, stripped; refused with how to write it when it cannot be an address."""
        address = (target or "").strip()
        if not EMAIL_PATTERN.match(address):
            raise AlertError(
                f"email recipients: {address!r} is not an email address; write it as name@example.com"
            )
        return address

    def send(self, target: str, message: AlertMessage) -> None:
        settings = get_settings()
        host, port = self.host or settings.smtp_host, self.port or settings.smtp_port
        email = build_email(message, target, self.sender or settings.smtp_from)
        try:
            with self.smtp_factory(host, port, timeout=self.timeout_s) as smtp:
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as error:
            answers = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
            raise DeliveryError(f"the mail server at {host}:{port} refused {target}: {answers}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(
                f"could not send email through {host}:{port}: {error or type(error).__name__}"
            ) from None


def _text(reply: bytes | str) -> str:
    """The server's words for a refusal (``5.1.1 no such mailbox``), as text."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
