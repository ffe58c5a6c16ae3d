"""The one model's line: whoever holds it (a generation, a load, an adapter change) holds it alone, and the
others wait in the order they came, each able to say its place. A plain Lock promises no order and no place, so
a request could wait behind later ones and nobody could tell an API client how long.

`hold(ticket)` waits for the ticket's turn (leaving the line when `cancelled` is set), `place(ticket)` says where it
stands (0: holding; 1: next), `expected_wait(place)` what the holds so far suggest in seconds, `where(ticket)` all
of it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from engine.models.generation import QueuePlace

POLL_S = 0.25  # how often a waiter looks at its cancel event
MEAN_WEIGHT = 0.3  # of the newest hold in the running mean of hold times
FIRST_GUESS_S = 10.0  # the expected hold before any has been measured


class Ticket:
    """A place in the line (any object would do; this one prints)."""

    def __repr__(self) -> str:
        return f"<Ticket {id(self):x}>"


class Turns:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._line: list[Ticket] = []   # the first holds the model
        self._mean_hold_s = FIRST_GUESS_S

    @contextmanager
    def hold(self, ticket: Ticket | None = None, cancelled: threading.Event | None = None) -> Iterator[bool]:
        """Wait for the turn of `ticket`; yields True while holding it, False when `cancelled` came first."""
        ticket = ticket or Ticket()
        if not self._wait(ticket, cancelled):
            yield False
            return
        started = time.monotonic()
        try:
            yield True
        finally:
            self._leave(ticket, time.monotonic() - started)

    def place(self, ticket: Ticket) -> int:
        """0: holding; n: n others hold or wait before it; -1: not in the line."""
        with self._changed:
            return self._line.index(ticket) if ticket in self._line else -1

    def length(self) -> int:
        with self._changed:
            return len(self._line)

    def where(self, ticket: Ticket) -> QueuePlace:
        """The ticket's place, the line's length and the expected wait, together (a "queued" event)."""
        place = self.place(ticket)
        return QueuePlace(place, self.length(), self.expected_wait(place))

    def expected_wait(self, place: int) -> float:
        """Seconds until `place` gets its turn, from the running mean of the holds so far."""
        return max(0, place) * self._mean_hold_s

    def _wait(self, ticket: Ticket, cancelled: threading.Event | None) -> bool:
        with self._changed:
            self._line.append(ticket)
            while self._line[0] is not ticket:
                if cancelled is not None and cancelled.is_set():
                    self._line.remove(ticket)
                    self._changed.notify_all()
                    return False
                self._changed.wait(POLL_S if cancelled is not None else None)
            return True

    def _leave(self, ticket: Ticket, held_s: float) -> None:
        with self._changed:
            self._line.remove(ticket)
            self._mean_hold_s = (1 - MEAN_WEIGHT) * self._mean_hold_s + MEAN_WEIGHT * held_s
            self._changed.notify_all()
