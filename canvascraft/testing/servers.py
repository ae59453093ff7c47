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
    """A webhook endpoint: answers 500 to the first ``fail_first`` requests, 200 after; keeps every body."""

    port: int
    fail_first: int = 0
    delay_s: float = 0.0
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
            if receiver.delay_s:
                time.sleep(receiver.delay_s)
            with receiver.condition:
                failing = receiver.answered < receiver.fail_first
                receiver.answered += 1
                receiver.requests.append(Received(self.path, dict(self.headers), json.loads(raw or b"null")))
                receiver.condition.notify_all()
            self.send_response(500 if failing else 200)
            answer = b"receiver not ready" if failing else b"ok"
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@contextmanager
def webhook_receiver(
    port: int | None = None, fail_first: int = 0, delay_s: float = 0.0
) -> Iterator[Receiver]:
    receiver = Receiver(port or free_port(), fail_first, delay_s)
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
    """aiosmtpd handler keeping every message's envelope."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.condition = threading.Condition()

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
def smtp_server() -> Iterator[tuple[int, Mailbox]]:
    """An SMTP server on a free port (aiosmtpd, imported here: only mail checks need it)."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname=HOST, port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()
