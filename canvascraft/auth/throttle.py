"""Refused sign-ins, counted per client address: too many in a minute and the address waits.

The API counts each request whose bearer token was refused (401); past ``limit`` in ``window_s``
seconds from one address, its requests are answered 429 with ``Retry-After`` until the oldest of
those failures is a window old, whatever token they carry. Kept in memory, per server process: a
restart forgets, which is fine for slowing down guessing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from canvascraft.errors import TooManyFailures

LIMIT = 10
WINDOW_S = 60.0


class FailureLimit:
    """How many refusals each address had in the last ``window_s`` seconds (thread-safe)."""

    def __init__(
        self, limit: int = LIMIT, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[address]
        return failures

    def check(self, address: str) -> None:
        """Raise :class:`TooManyFailures` while ``address`` is over the limit."""
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if len(failures) >= self.limit:
                wait = max(1, math.ceil(failures[0] + self.window_s - now))
                raise TooManyFailures(
                    f"too many refused tokens from {address} in the last {self.window_s:.0f} s: "
                    f"wait {wait} s, then send a valid token (`canvascraft tokens list` shows yours)",
                    retry_after=wait,
                )

    def failed(self, address: str) -> int:
        """Count one refusal; returns how many ``address`` had in the window."""
        with self._lock:
            now = self._clock()
            failures = self._failures.setdefault(address, deque())
            failures.append(now)
            return len(self._recent(address, now))
