"""Logins under attack: wrong passwords slow a login down, then lock it for a while.

Counted per login and client address (when the caller knows the address), so someone guessing Ann's password
from one machine locks Ann out on that machine only, never everybody. Every attempt counts as a failure until
its password proved right, so many attempts sent at once cannot slip past the delay. Through a --share link
every visitor arrives from the tunnel's local address: there the count is per login alone.

After FREE_FAILURES wrong passwords, the next attempt is refused (unchecked) for 1 s, then 2, 4 ... up to
MAX_DELAY_S; after LOCK_AFTER wrong passwords the login is locked for LOCK_S (logged). A right password
clears the count.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

FREE_FAILURES = 3
BASE_DELAY_S = 1.0
MAX_DELAY_S = 30.0
LOCK_AFTER = 10
LOCK_S = 15 * 60.0
FORGET_S = 24 * 3600.0  # a count idle this long is dropped
MAX_COUNTS = 10_000     # past this many, the oldest unlocked counts are dropped (a spray of made-up names)


@dataclass
class Refusal:
    locked: bool
    retry_after: float  # seconds

    def summary(self) -> str:
        what = "locked after too many wrong passwords" if self.locked else "slowed down after wrong passwords"
        return f"This login is {what}: try again in {max(1, round(self.retry_after))} s."


@dataclass
class _Count:
    failures: int = 0
    not_before: float = 0.0
    locked_until: float = 0.0
    last_seen: float = 0.0


def delay_after(failures: int) -> float:
    """Seconds an attempt must wait after `failures` wrong passwords in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (failures - FREE_FAILURES))


class LoginGuard:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[tuple[str, str], _Count] = {}
        self._sweep_at = 1000
        self._lock = threading.Lock()

    def admit(self, username: str, client: str = "") -> Refusal | None:
        """None: check this attempt's password (then call `record`). A Refusal: do not check it."""
        now = self._clock()
        with self._lock:
            self._forget_idle(now)
            count = self._counts.setdefault((username, client), _Count())
            count.last_seen = now
            if count.locked_until > now:
                return Refusal(locked=True, retry_after=count.locked_until - now)
            if count.not_before > now:
                return Refusal(locked=False, retry_after=count.not_before - now)
            count.failures += 1
            count.not_before = now + delay_after(count.failures)
            return None

    def record(self, username: str, client: str, ok: bool) -> None:
        """The outcome of an admitted attempt."""
        now = self._clock()
        with self._lock:
            if ok:
                self._counts.pop((username, client), None)
                return
            count = self._counts.setdefault((username, client), _Count(failures=1))
            where = f" from {client}" if client else ""
            if count.failures >= LOCK_AFTER:
                count.locked_until = now + LOCK_S
                log.warning("login %r%s locked for %d min after %d wrong passwords", username, where,
                            LOCK_S // 60, count.failures)
            else:
                log.info("wrong password for login %r%s (%d in a row)", username, where, count.failures)

    def refusal(self, username: str, client: str = "") -> Refusal | None:
        """What `admit` would answer now, without counting an attempt."""
        now = self._clock()
        with self._lock:
            count = self._counts.get((username, client))
            if count is None:
                return None
            if count.locked_until > now:
                return Refusal(locked=True, retry_after=count.locked_until - now)
            if count.not_before > now:
                return Refusal(locked=False, retry_after=count.not_before - now)
            return None

    def _forget_idle(self, now: float) -> None:
        """Sweeps when the table doubled since the last sweep, so each attempt costs O(1) on average."""
        if len(self._counts) < self._sweep_at:
            return
        for key in [k for k, c in self._counts.items() if c.last_seen < now - FORGET_S and c.locked_until <= now]:
            del self._counts[key]
        if len(self._counts) > MAX_COUNTS:
            unlocked = sorted((c.last_seen, k) for k, c in self._counts.items() if c.locked_until <= now)
            for _, key in unlocked[: len(self._counts) - MAX_COUNTS // 2]:
                del self._counts[key]
        self._sweep_at = min(max(1000, 2 * len(self._counts)), MAX_COUNTS + 1)
