"""Failures and attempts per client address in a sliding window: past the limit, the address waits.

One counter serves both doors: the API counts each request whose bearer token was refused (401), and
the server counts sign-ins started (``/auth/login``) and sign-ins that came back failed
(``/oauth2callback`` with an error, a stale state or a code the provider would not exchange). Past
``limit`` in ``window_s`` seconds from one address the answer is 429 with ``Retry-After`` until the
oldest count is a window old. Kept in memory, per server process: a restart forgets, which is fine
for slowing down guessing. Keyed by the connection's address: behind a reverse proxy that is the
proxy's, so everyone shares one count there (``X-Forwarded-For`` is not trusted: any client can send it).
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
MOST_ADDRESSES = 10_000
"""Past this many addresses, those with nothing left in their window are forgotten."""


class WindowLimit:
    """At most ``limit`` counts per ``window_s`` seconds from one address (thread-safe)."""

    def __init__(
        self, limit: int = LIMIT, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._counts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        counts = self._counts.setdefault(address, deque())
        while counts and counts[0] <= now - self.window_s:
            counts.popleft()
        return counts

    def _wait(self, counts: deque[float], now: float) -> int | None:
        if len(counts) < self.limit:
            return None
        return max(1, math.ceil(counts[0] + self.window_s - now))

    def wait_s(self, address: str) -> int | None:
        """Whole seconds ``address`` must wait, or None while it is under the limit."""
        with self._lock:
            now = self._clock()
            return self._wait(self._recent(address, now), now)

    def failed(self, address: str) -> int:
        """Count one failure (or attempt) from ``address``; returns how many it has in the window."""
        with self._lock:
            now = self._clock()
            counts = self._recent(address, now)
            counts.append(now)
            if len(self._counts) > MOST_ADDRESSES:
                for other in [a for a, c in self._counts.items() if not c]:
                    del self._counts[other]
            return len(counts)

    def attempt(self, address: str) -> int | None:
        """Count an attempt from ``address`` when it may go ahead (None); else the seconds to wait
        (the refused attempt is not counted)."""
        with self._lock:
            now = self._clock()
            counts = self._recent(address, now)
            wait = self._wait(counts, now)
            if wait is None:
                counts.append(now)
            return wait

    def check(self, address: str) -> None:
        """Raise :class:`TooManyFailures` while ``address`` is over the limit (the API's refused tokens)."""
        wait = self.wait_s(address)
        if wait is not None:
            raise TooManyFailures(
                f"too many refused tokens from {address} in the last {self.window_s:.0f} s: "
                f"wait {wait} s, then send a valid token (`canvascraft tokens list` shows yours)",
                retry_after=wait,
            )
