"""OpenAIService: API requests -> the engine's one generation path -> OpenAI's JSON.

Generation goes through `studio.models.stream_chat` / `stream_completion`, the path the Chat and Notebook tabs
use: one model, requests served one after another, stop strings, adapters hot-swapped per request. `model`
names the loaded base ("SmolLM2-135M-Instruct") or one of its adapters ("SmolLM2-135M-Instruct@pirate").
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from engine.api.auth import Caller
from engine.api.errors import NOT_FOUND, UNAVAILABLE, ApiError, from_lorag
from engine.api.format import Reply, model_entry
from engine.api.schemas import ChatCompletionRequest, CompletionRequest, Sampling
from engine.errors import LoragError
from engine.models.generation import GenerationParams, StreamEvent
from engine.models.remote import ENGINE_DEVICE

if TYPE_CHECKING:
    from engine.models.service import LoadedModel
    from engine.studio import Studio

log = logging.getLogger(__name__)

ADAPTER_SEPARATOR = "@"
SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "seed")


@dataclass
class Generation:
    """A generation about to run: its event stream, the id that stops it, and what the response carries."""

    events: Iterator[StreamEvent]
    request_id: str
    reply: Reply
    stops: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)      # the `lorag` part of the response (citations)
    finish_extra: Any = None                                  # callable(answer) -> extra fields, after the answer


class OpenAIService:
    def __init__(self, studio: "Studio") -> None:
        self.studio = studio
        self._first_seen: dict[str, int] = {}   # model name -> when the API first saw it ("created")

    @property
    def queue_limit(self) -> int:
        """Requests a non-streaming one may wait behind (Settings.api_queue_limit)."""
        return int(self.studio.settings.api_queue_limit)

    # --- models -------------------------------------------------------------------------------------
    def _current(self) -> "LoadedModel | None":
        models = self.studio.started_models()
        return models.current if models is not None else None

    def list_models(self) -> list[dict[str, Any]]:
        current = self._current()
        if current is None:
            return []
        created = self._first_seen.setdefault(current.name, int(time.time()))
        told = {"thinking": current.thinking, "switches": list(current.switches)}   # for a Lorag using this one
        entries = [model_entry(current.name, created, root=current.source, parent=None, lorag=told)]
        for name in self.studio.adapters.names():
            entries.append(model_entry(f"{current.name}{ADAPTER_SEPARATOR}{name}", created, root=current.name,
                                       parent=current.name))
        return entries

    def model_names(self) -> list[str]:
        return [entry["id"] for entry in self.list_models()]

    def resolve(self, model: str) -> tuple["LoadedModel", str | None]:
        """The loaded model and the adapter `model` names (None: the base), or ApiError 404 / 503."""
        current = self._current()
        if current is None:
            raise ApiError(503, "No model is loaded: load one in the studio's Models tab (or start it with "
                                "--model).", UNAVAILABLE, code="model_not_loaded")
        base, _, adapter = model.partition(ADAPTER_SEPARATOR)
        if base != current.name:
            raise ApiError(404, f"The model {model!r} does not exist here. Available: "
                                f"{', '.join(self.model_names())}.", NOT_FOUND, param="model", code="model_not_found")
        if not adapter:
            return current, None
        try:
            problem = self.studio.adapters.check(adapter)
        except LoragError as exc:
            raise ApiError(404, f"{exc} Available: {', '.join(self.model_names())}.", NOT_FOUND, param="model",
                           code="model_not_found") from None
        if problem:
            raise ApiError(400, f"The adapter {adapter!r} cannot run on {current.name}: {problem}", param="model",
                           code="model_incompatible")
        return current, adapter

    # --- parameters ---------------------------------------------------------------------------------
    def params(self, request: Sampling, current: "LoadedModel", wanted_tokens: int | None,
               thinking: bool = False) -> GenerationParams:
        """The model's own generation preset, overridden by what the request sets."""
        limit = int(self.studio.settings.api_max_tokens)
        param = "max_completion_tokens" if getattr(request, "max_completion_tokens", None) else "max_tokens"
        if wanted_tokens is not None and wanted_tokens > limit:
            raise ApiError(400, f"{param} is {wanted_tokens}, but this server generates at most {limit} tokens per "
                                "request (--api-max-tokens).", param=param, code="max_tokens_too_large")
        if current.context_length and wanted_tokens and wanted_tokens > current.context_length:
            raise ApiError(400, f"{param} is {wanted_tokens}, more than {current.name}'s context of "
                                f"{current.context_length} tokens.", param=param, code="max_tokens_too_large")
        preset = current.thinking_preset if thinking and current.thinking_preset else current.generation_preset
        try:
            base = GenerationParams.from_preset(preset or "default")
        except LoragError:
            base = GenerationParams()
        values = {**base.to_dict(), "stop": list(request.stop or [])}
        values.update({name: getattr(request, name) for name in SAMPLING_FIELDS if getattr(request, name) is not None})
        values["max_new_tokens"] = wanted_tokens or min(base.max_new_tokens, limit)
        try:
            return GenerationParams.from_dict(values)
        except LoragError as exc:
            raise from_lorag(exc) from None

    # --- generation ---------------------------------------------------------------------------------
    def _count(self, caller: Caller, client_host: str | None) -> None:
        try:
            self.studio.limiter.check(caller.rate_key(client_host))
        except LoragError as exc:
            raise from_lorag(exc) from None

    def chat(self, request: ChatCompletionRequest, caller: Caller, client_host: str | None) -> Generation:
        current, adapter = self.resolve(request.model)
        on_engine = current.device == ENGINE_DEVICE   # the engine's template fills in what the request leaves out
        thinking = request.thinking
        if thinking is None and not on_engine:
            thinking = current.thinking != "none"
        params = self.params(request, current, request.wanted_tokens, bool(thinking))
        messages = [m.as_dict() for m in request.messages]
        extra: dict[str, Any] = {}
        finish_extra = None
        if request.lorag is not None and request.lorag.collection:
            messages, extra, finish_extra = self._with_documents(request, messages, caller)
        switches = request.template_switches
        if switches and messages is not None and not on_engine:  # a switch the template lacks: a 400 first
            try:
                self.studio.models.render_prompt(messages, thinking, **switches)
            except LoragError as exc:
                raise from_lorag(exc) from None
        self._count(caller, client_host)
        request_id = f"api-{uuid.uuid4().hex[:12]}"
        if messages is None:  # no relevant passage: say so rather than let the model make something up
            from engine.api.documents import nothing_found

            events: Iterator[StreamEvent] = iter(nothing_found(extra["lorag"]["collection"]))
        else:
            events = self.studio.models.stream_chat(messages, params, adapter=adapter, thinking=thinking,
                                                    request_id=request_id, report_queue=True, **switches)
        return Generation(events, request_id, Reply(request.model, "chat"), params.stop, extra, finish_extra)

    def completion(self, request: CompletionRequest, caller: Caller, client_host: str | None) -> Generation:
        current, adapter = self.resolve(request.model)
        params = self.params(request, current, request.wanted_tokens)
        self._count(caller, client_host)
        request_id = f"api-{uuid.uuid4().hex[:12]}"
        events = self.studio.models.stream_completion(request.prompt, params, adapter=adapter,
                                                      request_id=request_id, report_queue=True)
        return Generation(events, request_id, Reply(request.model, "text"), params.stop)

    def stop(self, request_id: str) -> None:
        models = self.studio.started_models()
        if models is not None:
            models.stop(request_id)

    # --- documents (engine.rag) -----------------------------------------------------------------------
    def _rag(self) -> Any:
        if not hasattr(type(self.studio), "rag"):
            raise ApiError(501, "Documents are not available in this version of the studio.", param="lorag",
                           code="documents_unavailable")
        try:
            return self.studio.rag
        except LoragError as exc:
            raise ApiError(503, str(exc), UNAVAILABLE, param="lorag", code="documents_unavailable") from None

    def _with_documents(self, request: ChatCompletionRequest, messages: list[dict[str, Any]],
                        caller: Caller) -> tuple[list[dict[str, Any]] | None, dict[str, Any], Any]:
        from engine.api.documents import grounded_messages

        return grounded_messages(self._rag(), request, messages, caller, self.studio.access.login_required)

    def embeddings(self, model: str, texts: list[str], caller: Caller) -> tuple[list[list[float]], int, str]:
        from engine.api.documents import embed

        return embed(self._rag(), model, texts, caller, self.studio.access.login_required)
