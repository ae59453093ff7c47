"""Real local receivers on 127.0.0.1 for alert channel checks: an HTTP webhook receiver and an SMTP
server. Shipped beside the contracts so a channel that posts over HTTP or sends mail proves itself
against the same servers the studio's own channels are tested with; nothing is mocked.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"
WAIT_S = 5.0


def free_port() -> int:
    """A port nothing listens on now, so parallel runs and leftover servers do not collide."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """A webhook endpoint: answers ``fail_status`` (500; 429 for a rate limit, with ``retry_after`` as its
    ``Retry-After``) to the first ``fail_first`` requests, 200 after; keeps every body. ``delay_s``
    delays every answer, or only the first ``slow_first`` ones (an endpoint that times out, then not)."""

    port: int
    fail_first: int = 0
    delay_s: float = 0.0
    fail_status: int = 500
    retry_after: str | None = None
    slow_first: int | None = None
    stalled: int = 0
    requests: list[Received] = field(default_factory=list)
    answered: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    @property
    def delivered(self) -> list[Received]:
        """Requests answered with a success."""
        return self.requests[self.fail_first :]

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[Received]:
        with self.condition:
            self.condition.wait_for(lambda: len(self.delivered) >= count, timeout)
            return list(self.delivered)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if receiver.slow_first is not None:
                with receiver.condition:
                    stalled = receiver.stalled < receiver.slow_first
                    receiver.stalled += stalled
                if stalled:  # no answer until the sender has given up; not counted as received
                    time.sleep(receiver.delay_s)
                    self.close_connection = True
                    return
            elif receiver.delay_s:
                time.sleep(receiver.delay_s)
            with receiver.condition:
                failing = receiver.answered < receiver.fail_first
                receiver.answered += 1
                receiver.requests.append(Received(self.path, dict(self.headers), json.loads(raw or b"null")))
                receiver.condition.notify_all()
            self.send_response(receiver.fail_status if failing else 200)
            answer = (
                (b"slow down" if receiver.fail_status == 429 else b"receiver not ready") if failing else b"ok"
            )
            if failing and receiver.retry_after is not None:
                self.send_header("Retry-After", receiver.retry_after)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@contextmanager
def webhook_receiver(
    port: int | None = None,
    fail_first: int = 0,
    delay_s: float = 0.0,
    *,
    fail_status: int = 500,
    retry_after: str | None = None,
    slow_first: int | None = None,
) -> Iterator[Receiver]:
    receiver = Receiver(port or free_port(), fail_first, delay_s, fail_status, retry_after, slow_first)
    server = ThreadingHTTPServer((HOST, receiver.port), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Mailbox:
    """aiosmtpd handler keeping every message's envelope; refuses the addresses in ``refuse`` with
    ``550`` at RCPT, as a server does for a mailbox that does not exist."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.messages: list[Any] = []
        self.refuse = {address.lower() for address in refuse}
        self.condition = threading.Condition()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.condition:
            self.messages.append(envelope)
            self.condition.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[Any]:
        with self.condition:
            self.condition.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


@contextmanager
def smtp_server(refuse: tuple[str, ...] = ()) -> Iterator[tuple[int, Mailbox]]:
    """An SMTP server on a free port (aiosmtpd, imported here: only mail checks need it); it refuses
    the recipients in ``refuse``."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(refuse)
    port = free_port()
    controller = Controller(mailbox, hostname=HOST, port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()
