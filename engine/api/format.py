"""OpenAI's response objects and server-sent-event chunks, built from the engine's StreamEvents.

Chat chunks follow OpenAI's format exactly: the first carries delta {"role": "assistant", "content": ""}, then
content deltas, then an empty delta with the finish_reason, then (with stream_options.include_usage) a chunk
with no choices and the usage, then `data: [DONE]`. Qwen3's reasoning goes in delta.reasoning_content (the field
vLLM and DeepSeek use), never in the content.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from engine.models.generation import GenerationStats

DONE_LINE = "data: [DONE]\n\n"

FINISH_REASONS = {"eos": "stop", "stop_string": "stop", "stopped": "stop", "length": "length"}


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n"


def finish_reason(stats: GenerationStats | None) -> str:
    return FINISH_REASONS.get(stats.finish_reason if stats else "", "stop")


def usage(stats: GenerationStats | None) -> dict[str, int]:
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.completion_tokens if stats else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


@dataclass
class Reply:
    """One response's identity: its id, creation time and the model name the client asked for."""

    model: str
    kind: str = "chat"                           # chat | text
    id: str = ""
    created: int = field(default_factory=lambda: int(time.time()))

    def __post_init__(self) -> None:
        if not self.id:
            self.id = ("chatcmpl-" if self.kind == "chat" else "cmpl-") + uuid.uuid4().hex[:24]

    def _head(self, object_name: str) -> dict[str, Any]:
        return {"id": self.id, "object": object_name, "created": self.created, "model": self.model,
                "system_fingerprint": None}

    # --- chat -----------------------------------------------------------------------------------------
    def chat_completion(self, answer: str, reasoning: str, stats: GenerationStats | None,
                        extra: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": answer, "refusal": None}
        if reasoning:
            message["reasoning_content"] = reasoning
        body = {**self._head("chat.completion"),
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": finish_reason(stats)}],
                "usage": usage(stats)}
        if extra:
            body.update(extra)
        return body

    def chat_chunk(self, delta: dict[str, Any], finish: str | None = None,
                   with_usage_field: bool = False) -> dict[str, Any]:
        chunk = {**self._head("chat.completion.chunk"),
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if with_usage_field:
            chunk["usage"] = None
        return chunk

    def usage_chunk(self, stats: GenerationStats | None, object_name: str = "chat.completion.chunk") -> dict:
        return {**self._head(object_name), "choices": [], "usage": usage(stats)}

    # --- text completion ------------------------------------------------------------------------------
    def completion(self, text: str, stats: GenerationStats | None) -> dict[str, Any]:
        return {**self._head("text_completion"),
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason(stats)}],
                "usage": usage(stats)}

    def completion_chunk(self, text: str, finish: str | None = None, with_usage_field: bool = False) -> dict:
        chunk = {**self._head("text_completion"),
                 "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}
        if with_usage_field:
            chunk["usage"] = None
        return chunk


def model_entry(model_id: str, created: int, owned_by: str = "lorag", **extra: Any) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by, **extra}


def queue_comment(place: Any) -> str:
    """An SSE comment (clients skip it) with a waiting request's place: ": queue 2 ahead of 3, about 20 s"."""
    return f": queue {place.ahead} ahead of {place.length}, about {round(place.expected_wait_s)} s\n\n"
