"""The studio's alert channels pass the shipped ``AlertChannelContract``: the webhook against a real HTTP
receiver, email against a real SMTP server, both on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvascraft.events.observers.email import EmailChannel
from canvascraft.events.observers.webhook import WebhookChannel
from canvascraft.testing.channels import AlertChannelContract, Inbox, email_inbox, webhook_inbox
from canvascraft.testing.servers import HOST, Mailbox, free_port, smtp_server, webhook_receiver


class TestWebhookChannel(AlertChannelContract):
    bad_targets = ("ftp://example.com/x", "hooks.example.com", "not a url", "")

    @pytest.fixture
    def channel_class(self) -> type[WebhookChannel]:
        return WebhookChannel

    @pytest.fixture
    def inbox(self) -> Iterator[Inbox]:
        with webhook_receiver() as receiver:
            yield webhook_inbox(receiver)

    @pytest.fixture
    def channel(self) -> WebhookChannel:
        return WebhookChannel()

    @pytest.fixture
    def unreachable(self) -> tuple[WebhookChannel, str]:
        return WebhookChannel(), f"http://{HOST}:{free_port()}/hook"


class TestEmailChannel(AlertChannelContract):
    bad_targets = ("ana@example", "ana.example.com", "ana @example.com", "ana@example.com, ops@example.com")

    @pytest.fixture
    def mail_server(self) -> Iterator[tuple[int, Mailbox]]:
        with smtp_server() as server:
            yield server

    @pytest.fixture
    def channel_class(self) -> type[EmailChannel]:
        return EmailChannel

    @pytest.fixture
    def inbox(self, mail_server: tuple[int, Mailbox]) -> Inbox:
        return email_inbox(mail_server[1], "ana@example.com")

    @pytest.fixture
    def channel(self, mail_server: tuple[int, Mailbox]) -> EmailChannel:
        return EmailChannel(host=HOST, port=mail_server[0], sender="alerts@studio.test")

    @pytest.fixture
    def unreachable(self) -> tuple[EmailChannel, str]:
        return EmailChannel(host=HOST, port=free_port(), sender="alerts@studio.test"), "ana@example.com"
