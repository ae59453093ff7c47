"""Real local servers on 127.0.0.1 for the alert channels: an HTTP webhook receiver and an SMTP server.

They ship in ``canvascraft.testing.servers`` (the channel contract uses them); this module keeps the
names the event tests import.
"""

from canvascraft.testing.servers import (
    WAIT_S,
    Mailbox,
    Received,
    Receiver,
    smtp_server,
    webhook_receiver,
)

__all__ = ["WAIT_S", "Mailbox", "Received", "Receiver", "smtp_server", "webhook_receiver"]
