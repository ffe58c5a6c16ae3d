"""A per-person limit on generation requests (chat, notebook, compare and the API share it).

A sliding window: at most `per_minute` requests started in any 60 seconds by one key (the signed-in user,
the API key, or the client's address when nobody signs in). Over it, `check` raises `RateLimited` with the
seconds until a request is allowed again (the API turns that into HTTP 429 with Retry-After).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Callable

from engine.errors import LoragError

WINDOW_S = 60.0


class RateLimited(LoragError):
    def __init__(self, limit: int, retry_after: float) -> None:
        self.limit = limit
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"Too many requests: the limit is {limit} generations per minute per person.",
                         hint=f"Try again in {self.retry_after} s.", key="access.rate_limited",
                         hint_key="access.try_again_in", params={"limit": limit, "seconds": self.retry_after})


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = max(0, int(per_minute))
        self._clock = clock
        self._starts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def check(self, key: str) -> None:
        """Count one request for `key`, or raise RateLimited (not counted) when it is over the limit."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            starts = self._starts.setdefault(key, deque())
            while starts and starts[0] <= now - WINDOW_S:
                starts.popleft()
            if len(starts) >= self.per_minute:
                raise RateLimited(self.per_minute, starts[0] + WINDOW_S - now)
            starts.append(now)
            self._forget_idle(now)

    def refusal(self, key: str) -> RateLimited | None:
        """What `check` would raise for `key` now, without counting anything (None: it would pass)."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            live = [t for t in self._starts.get(key, ()) if t > now - WINDOW_S]
            return RateLimited(self.per_minute, live[0] + WINDOW_S - now) if len(live) >= self.per_minute else None

    def remaining(self, key: str) -> int:
        if not self.enabled:
            return -1
        now = self._clock()
        with self._lock:
            starts = self._starts.get(key, ())
            return self.per_minute - sum(1 for t in starts if t > now - WINDOW_S)

    def _forget_idle(self, now: float) -> None:
        if len(self._starts) < 1000:
            return
        for key in [k for k, v in self._starts.items() if not v or v[-1] <= now - WINDOW_S]:
            del self._starts[key]


def person_key(username: str | None, client_host: str | None) -> str:
    """Who a request counts against: the signed-in user, else the client's address."""
    if username:
        return f"user:{username}"
    return f"ip:{client_host or 'unknown'}"
