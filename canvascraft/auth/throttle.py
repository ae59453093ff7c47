"""Sign-in attempts per client address, in a sliding window: the server answers 429 past the limit.

An attempt is a sign-in started (``/auth/login``) or a sign-in that came back failed (``/oauth2callback``
with an error, a stale state or a code the provider would not exchange). The counts live in the server
process (a restart forgets them) and are keyed by the address the connection comes from: behind a
reverse proxy that is the proxy's, so everyone shares one count there (``X-Forwarded-For`` is not
trusted, since any client can send one).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class SignInLimiter:
    """At most ``attempts`` per ``window_s`` seconds from one address."""

    def __init__(self, attempts: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(address, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        return seen

    def attempt(self, address: str) -> int | None:
        """Count an attempt from ``address``: None when it may go ahead, else the whole seconds until
        the oldest attempt in the window leaves it (the attempt refused is not counted)."""
        now = self.clock()
        with self._lock:
            seen = self._recent(address, now)
            if len(seen) >= self.attempts:
                return max(1, math.ceil(seen[0] + self.window_s - now))
            seen.append(now)
            if len(self._seen) > 10_000:  # forget addresses with nothing left in their window
                for other in [a for a, s in self._seen.items() if not s]:
                    del self._seen[other]
            return None

    def failed(self, address: str) -> None:
        """Count a failed sign-in from ``address`` (it may push the address over the limit)."""
        now = self.clock()
        with self._lock:
            self._recent(address, now).append(now)
