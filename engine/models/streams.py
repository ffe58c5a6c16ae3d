"""The running streams of ModelService, each with the event that stops it (Stop button, API disconnect)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class Streams:
    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    @contextmanager
    def running(self, request_id: str | None) -> Iterator[threading.Event]:
        """The stop event of one stream, known to `stop` while the stream runs."""
        stop_event = threading.Event()
        key = request_id or f"anon-{id(stop_event)}"
        with self._lock:
            previous = self._events.get(key)
            if previous is not None:
                previous.set()  # the same page asked again: its old stream gives way
            self._events[key] = stop_event
        try:
            yield stop_event
        finally:
            stop_event.set()  # a consumer that went away must not keep the model busy
            with self._lock:
                if self._events.get(key) is stop_event:
                    del self._events[key]

    def stop(self, request_id: str | None = None) -> bool:
        """Stop the stream `request_id` (every running stream when None). True when one was running."""
        with self._lock:
            events = list(self._events.values()) if request_id is None else \
                [e for e in [self._events.get(request_id)] if e is not None]
        for event in events:
            event.set()
        return bool(events)
