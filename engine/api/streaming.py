"""Reading the engine's (blocking) event stream from async routes, and holding back stop strings.

The engine's stream is a plain generator that blocks while it waits for the model (another request may hold it)
and between tokens, so every step runs in a worker thread. `close()` stops the generation at the next token:
a client that goes away never keeps the model busy. A reply an engine cut off (--engine-url) ends in its error.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import anyio
import anyio.to_thread

from engine.models.generation import StreamEvent
from engine.models.remote import CUT

_END = object()
API_THREADS = 16
_limiter: anyio.CapacityLimiter | None = None


async def in_api_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking step on the API's own threads: requests waiting for the model never take the threads
    Gradio's page events run on (anyio's default pool), so a burst of API calls cannot freeze the page."""
    global _limiter
    if _limiter is None:
        _limiter = anyio.CapacityLimiter(API_THREADS)
    return await anyio.to_thread.run_sync(fn, *args, limiter=_limiter)


def _next(events: Iterator[StreamEvent]) -> Any:
    return next(events, _END)


class EventPump:
    def __init__(self, events: Iterator[StreamEvent], stop: Callable[[], None]) -> None:
        self.events = events
        self._stop = stop
        self.done: StreamEvent | None = None

    def __aiter__(self) -> "EventPump":
        return self

    async def __anext__(self) -> StreamEvent:
        if self.done is not None:
            raise StopAsyncIteration
        event = await in_api_thread(_next, self.events)
        if event is _END:
            raise StopAsyncIteration
        if event.kind == "done":
            self.done = event
            if event.stats is not None and event.stats.finish_reason == CUT:
                await in_api_thread(_next, self.events)   # raises the engine's LoragError: a cut reply is an error
        return event

    async def close(self) -> None:
        self._stop()
        close = getattr(self.events, "close", None)
        if close is not None:
            await in_api_thread(close)


class StopHoldback:
    """Streams answer text without ever sending a stop string or the start of one.

    The engine notices a stop string only once it is in the decoded text, so a delta may already hold part of it.
    `push(answer_so_far)` returns the new text that is safe to send; `finish(final_answer)` the rest.
    """

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.sent = ""

    def _safe(self, text: str) -> str:
        cuts = [text.find(s) for s in self.stops if s in text]
        if cuts:
            return text[:min(cuts)]
        keep = len(text)
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(text)), 0, -1):
                if text.endswith(stop[:size]):
                    keep = min(keep, len(text) - size)
                    break
        return text[:keep]

    def push(self, answer: str) -> str:
        safe = self._safe(answer) if self.stops else answer
        if not safe.startswith(self.sent) or len(safe) <= len(self.sent):
            return ""
        delta, self.sent = safe[len(self.sent):], safe
        return delta

    def finish(self, final_answer: str) -> str:
        if final_answer.startswith(self.sent) and len(final_answer) > len(self.sent):
            delta, self.sent = final_answer[len(self.sent):], final_answer
            return delta
        return ""
