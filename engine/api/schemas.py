"""Request bodies of the OpenAI-compatible endpoints (pydantic), and their parsing into OpenAI-shaped errors.

Unknown fields are ignored, as OpenAI-compatible servers do (clients send `user`, `presence_penalty`...); fields
that would change the answer in a way Lorag cannot honour (n > 1, tools, logprobs, images) are refused.
vLLM's extras top_k, min_p, repetition_penalty and chat_template_kwargs (enable_thinking, preserve_thinking,
reasoning_effort) are understood.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.api.errors import ApiError

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_STOPS = 16
MAX_SEED = 2**63 - 1


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Body):
    type: str
    text: str | None = None


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None
    reasoning_content: str | None = None   # an earlier reply's reasoning (vLLM's field; kept with preserve_thinking)

    def as_dict(self) -> dict[str, Any]:
        """The message as the studio's chat path takes it (role, content, and reasoning when sent)."""
        item: dict[str, Any] = {"role": "system" if self.role == "developer" else self.role, "content": self.text()}
        if self.role == "assistant" and self.reasoning_content:
            item["reasoning"] = self.reasoning_content
        return item

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise ApiError(400, f"Message parts of type {part.type!r} are not supported: send text.",
                               param="messages", code="unsupported_content")
            parts.append(part.text)
        return "".join(parts)


class StreamOptions(_Body):
    include_usage: bool = False


class LoragOptions(_Body):
    """The `lorag` extension: answer from a document collection, with citations."""

    collection: str | None = Field(None, description="Collection to search; its passages are given to the model.")
    k: int | None = Field(None, ge=1, le=50, description="How many passages to retrieve.")
    alpha: float | None = Field(None, ge=0, le=1, description="0: keywords only, 1: vectors only.")
    document_ids: list[str] | None = Field(None, max_length=1000)
    thinking: bool | None = Field(None, description="Qwen3 thinking on or off (default: the model's).")


class Sampling(_Body):
    model: str = Field(min_length=1, max_length=300)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0, le=1000)
    min_p: float | None = Field(None, ge=0, lt=1)
    repetition_penalty: float | None = Field(None, gt=0, le=10)
    max_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=0, le=MAX_SEED)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="Lorag answers one choice per request.")
    logprobs: Any = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> list[str]:
        stops = [value] if isinstance(value, str) else list(value or [])
        if len(stops) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop sequences")
        if any(len(s) > 500 for s in stops):
            raise ValueError("a stop sequence is longer than 500 characters")
        return [s for s in stops if s]

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value: Any) -> Any:
        if value not in (None, False, 0):
            raise ValueError("logprobs are not supported")
        return None

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(Sampling):
    messages: list[ChatMessage] = Field(min_length=1, max_length=10_000)
    max_completion_tokens: int | None = Field(None, ge=1)
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    response_format: dict[str, Any] | None = None
    chat_template_kwargs: dict[str, Any] | None = None
    lorag: LoragOptions | None = None

    @field_validator("tools", "functions")
    @classmethod
    def _no_tools(cls, value: list[Any] | None) -> None:
        if value:
            raise ValueError("tool and function calling are not supported")
        return None

    @field_validator("response_format")
    @classmethod
    def _text_only(cls, value: dict[str, Any] | None) -> None:
        if value and value.get("type") not in (None, "text"):
            raise ValueError("only the 'text' response format is supported")
        return None

    @property
    def wanted_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def thinking(self) -> bool | None:
        if self.lorag is not None and self.lorag.thinking is not None:
            return self.lorag.thinking
        value = (self.chat_template_kwargs or {}).get("enable_thinking")
        return None if value is None else bool(value)

    @property
    def template_switches(self) -> dict[str, Any]:
        """preserve_thinking / reasoning_effort from chat_template_kwargs (Qwen3.6 / 3.8 templates), as in vLLM."""
        kwargs = self.chat_template_kwargs or {}
        switches: dict[str, Any] = {}
        if kwargs.get("preserve_thinking") is not None:
            switches["preserve_thinking"] = bool(kwargs["preserve_thinking"])
        if kwargs.get("reasoning_effort"):
            switches["reasoning_effort"] = str(kwargs["reasoning_effort"])
        return switches


class CompletionRequest(Sampling):
    prompt: str | list[str]
    echo: bool = False
    suffix: str | None = None

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, value: str | list[str]) -> str:
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError("send one prompt per request")
            value = value[0]
        if not value:
            raise ValueError("the prompt is empty")
        return value

    @field_validator("suffix")
    @classmethod
    def _no_suffix(cls, value: str | None) -> None:
        if value:
            raise ValueError("suffix (fill-in-the-middle) is not supported")
        return None

    @property
    def wanted_tokens(self) -> int:
        return self.max_tokens or 16  # OpenAI's default for /v1/completions


class EmbeddingRequest(_Body):
    model: str = Field(min_length=1, max_length=300)
    input: str | list[str] = Field(description="Text or texts to embed (token-id arrays are not supported).")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        if isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            raise ValueError("send text, not token ids")
        return value

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise ApiError(400, "The request body is empty: send a JSON object.", code="invalid_json")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "The request body is not UTF-8 text.", code="invalid_json") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                            f"{exc.colno}.", code="invalid_json") from None


def parse_body(raw: bytes, model: type[BaseModel]) -> Any:
    """The body as `model`, or ApiError 400 naming the first wrong field."""
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = f"'{param}' is required."
        else:
            message = f"Invalid '{param}': {message}."
        raise ApiError(400, message, param=param, code="invalid_value") from None


async def read_body(request: Any, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body of a starlette Request, refusing more than `limit` bytes even without a Content-Length."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"The request body is larger than {limit / 1e6:.0f} MB.", code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)
