"""The pieces between `model.generate` running in a thread and the text a person sees appear.

- `TokenQueue`: a transformers streamer that hands each new token id to the consumer through a queue
  (the generating thread never decodes, so streaming costs it nothing measurable).
- `IncrementalDecoder`: turns token ids into text deltas without re-decoding the whole reply each time
  and without cutting a multi-byte character in half.
- `StopOnEvent`: a stopping criterion that ends `generate` at the next token when an Event is set (Stop button).
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from transformers import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

END = object()


class TokenQueue(BaseStreamer):
    """Receives generated token ids from `generate` (first call: the prompt, skipped)."""

    def __init__(self) -> None:
        self.queue: queue.Queue = queue.Queue()
        self._prompt_seen = False
        self.first_token_at: float | None = None

    def put(self, value: Any) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.queue.put(value.reshape(-1).tolist())

    def end(self) -> None:
        self.queue.put(END)

    def fail(self, exc: BaseException) -> None:
        self.queue.put(exc)


class IncrementalDecoder:
    """Token ids in, new text out. Decodes only a short window (the prefix/read offsets technique)."""

    def __init__(self, tokenizer: Any, skip_special_tokens: bool = True) -> None:
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def push(self, new_ids: list[int]) -> str:
        self.ids.extend(new_ids)
        decode = self.tokenizer.decode
        before = decode(self.ids[self._prefix:self._read], skip_special_tokens=self.skip_special_tokens)
        after = decode(self.ids[self._prefix:], skip_special_tokens=self.skip_special_tokens)
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self._prefix, self._read = self._read, len(self.ids)
            return after[len(before):]
        return ""

    def flush(self) -> str:
        """Whatever is still held back at the end, without a character cut in half by max tokens (its bytes
        alone decode to U+FFFD, which only looks like a broken file to a person)."""
        decode = self.tokenizer.decode
        before = decode(self.ids[self._prefix:self._read], skip_special_tokens=self.skip_special_tokens)
        after = decode(self.ids[self._prefix:], skip_special_tokens=self.skip_special_tokens)
        self._prefix = self._read = len(self.ids)
        return after[len(before):].rstrip("\ufffd")


class StopOnEvent(StoppingCriteria):
    """Ends generation once `event` is set (checked after every token)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001 - transformers' signature
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)
