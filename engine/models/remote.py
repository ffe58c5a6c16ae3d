"""An OpenAI-compatible engine Lorag talks to over HTTP instead of running transformers itself (--engine-url):
vLLM, SGLang, llama.cpp's server, Ollama, or another Lorag serving /v1.

`EngineClient(url, key)`:
- `models() -> list[EngineModel]` (GET /v1/models); a LoRA model carries its base in `parent` (vLLM lists its
  --lora-modules so, and Lorag lists its adapters so).
- `stream_chat(model, messages, params, stop_event, template=...)` (POST /v1/chat/completions, stream=true; earlier
  replies go back without their reasoning, unless preserve_thinking asks for it as `reasoning_content`) and
  `stream_completion(model, prompt, params, stop_event)` (POST /v1/completions) yield the same `StreamEvent`s as
  in-process generation. Stop strings and sampling are passed through; `template` (the thinking switches
  enable_thinking / preserve_thinking / reasoning_effort that were set) goes as `chat_template_kwargs`, the field
  vLLM, SGLang and Lorag read; setting `stop_event` closes the connection at once, even while the engine sends
  nothing (finish_reason "stopped").
- `load_lora(name, path)` / `unload_lora(name)`: vLLM's runtime LoRA endpoints (POST /v1/load_lora_adapter,
  /v1/unload_lora_adapter), which a Lorag serves too.
- Errors are LoragErrors naming the engine: not reachable, an error status, or an engine that dies mid-answer.
  In the last case the stream first yields its "done" event with the text received so far (finish_reason "cut"),
  then raises, so a chat keeps the partial reply and says why it ends there.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx

from engine.errors import LoragError
from engine.models.generation import GenerationParams, GenerationStats, StreamEvent
from engine.models.thinking import history_for_template

ENGINE_PREFIX = "engine:"      # a load source naming an engine model: "engine:Qwen/Qwen3-8B"
ENGINE_DEVICE = "engine"       # LoadedModel.device of a model the engine runs
CUT = "cut"                    # finish_reason when the engine stopped answering mid-reply
FINISH = {"stop": "eos", "length": "length"}
CONNECT_FAILURES = (httpx.ConnectError, httpx.ConnectTimeout)
STREAM_FAILURES = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout)
OFF = {"top_k": 0, "min_p": 0.0, "repetition_penalty": 1.0}   # the values that turn these samplers off


@dataclass
class EngineModel:
    id: str
    parent: str = ""              # '' for a base model; the base of a LoRA model
    context_length: int = 0       # vLLM's max_model_len when it says
    thinking: str = ""            # none | switchable | always when the engine says (a Lorag does); '' unknown
    switches: list[str] = field(default_factory=list)   # the template switches it reads, when the engine says

    @classmethod
    def of(cls, entry: dict[str, Any]) -> "EngineModel":
        told = entry.get("lorag") if isinstance(entry.get("lorag"), dict) else {}
        return cls(id=str(entry.get("id", "")), parent=str(entry.get("parent") or ""),
                   context_length=int(entry.get("max_model_len") or 0), thinking=str(told.get("thinking") or ""),
                   switches=[str(s) for s in told.get("switches") or []])


def engine_source(model_id: str) -> str:
    return ENGINE_PREFIX + model_id


def is_engine_source(source: str) -> bool:
    return (source or "").startswith(ENGINE_PREFIX)


class EngineClient:
    def __init__(self, url: str, key: str = "", read_timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.api = self.url if self.url.endswith("/v1") else self.url + "/v1"
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = httpx.Timeout(read_timeout, connect=5.0)

    # --- models -----------------------------------------------------------------------------------------
    def models(self) -> list[EngineModel]:
        with self._calling():
            response = httpx.get(self.api + "/models", headers=self.headers, timeout=self.timeout)
        self._check(response)
        try:
            entries = response.json().get("data") or []
        except (ValueError, AttributeError):
            raise LoragError(f"The engine at {self.url} answered /v1/models with something that is not an "
                             "OpenAI model list.", hint="Is --engine-url an OpenAI-compatible server?",
                             key="engine.not_model_list", hint_key="engine.not_model_list_hint",
                             params={"url": self.url}) from None
        return [EngineModel.of(e) for e in entries if isinstance(e, dict) and e.get("id")]

    # --- runtime LoRA (vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, Lorag) ------------------------------
    def load_lora(self, name: str, path: str) -> None:
        """POST /v1/load_lora_adapter: the engine loads the adapter folder `path` (on its machine) as `name`."""
        self._post("/load_lora_adapter", {"lora_name": name, "lora_path": path})

    def unload_lora(self, name: str) -> None:
        self._post("/unload_lora_adapter", {"lora_name": name})

    def _post(self, path: str, body: dict[str, Any]) -> None:
        with self._calling():
            response = httpx.post(self.api + path, json=body, headers=self.headers, timeout=self.timeout)
        self._check(response)

    # --- chat -------------------------------------------------------------------------------------------
    def stream_chat(self, model: str, messages: list[dict[str, Any]], params: GenerationParams,
                    stop_event: threading.Event, adapter: str = "",
                    template: dict[str, Any] | None = None) -> Iterator[StreamEvent]:
        preserve = bool((template or {}).get("preserve_thinking"))  # earlier reasoning goes along only then
        body: dict[str, Any] = {"messages": history_for_template(messages, preserve)}
        if template:
            body["chat_template_kwargs"] = dict(template)
        return self._stream("/chat/completions", model, body, params, stop_event, _Reply(model, adapter, params.seed))

    def stream_completion(self, model: str, prompt: str, params: GenerationParams, stop_event: threading.Event,
                          adapter: str = "") -> Iterator[StreamEvent]:
        """A raw continuation of `prompt` (POST /v1/completions; the Notebook)."""
        reply = _Reply(model, adapter, params.seed, chat=False)
        return self._stream("/completions", model, {"prompt": prompt}, params, stop_event, reply)

    def _stream(self, path: str, model: str, body: dict[str, Any], params: GenerationParams,
                stop_event: threading.Event, reply: "_Reply") -> Iterator[StreamEvent]:
        body = {"model": model, **body, "stream": True, "stream_options": {"include_usage": True}, **sampling(params)}
        with self._calling(), httpx.Client(headers=self.headers, timeout=self.timeout) as http, \
                http.stream("POST", self.api + path, json=body) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            with _HangUp(response, stop_event):
                try:
                    for data in _sse_data(response):
                        yield from reply.take(data)
                        if stop_event.is_set():
                            reply.finish = "stopped"
                            break
                except STREAM_FAILURES as exc:
                    if not stop_event.is_set():
                        yield reply.done(CUT)
                        raise self._cut(reply, exc) from None
            if not reply.finish and stop_event.is_set():   # Stop hung up on it
                reply.finish = "stopped"
        if not reply.finish:   # the stream ended without saying why: the engine went away
            yield reply.done(CUT)
            raise self._cut(reply, None)
        yield reply.done(reply.finish)

    # --- errors -----------------------------------------------------------------------------------------
    def _calling(self) -> Any:
        return _Calling(self.url)

    def _check(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            detail = response.json().get("error") or response.json()
            message = detail.get("message") if isinstance(detail, dict) else str(detail)
        except (ValueError, AttributeError):
            message = response.text[:300]
        detail = message or response.reason_phrase
        raise LoragError(f"The engine at {self.url} refused the request (HTTP {response.status_code}): {detail}",
                         key="engine.refused",
                         params={"url": self.url, "status": response.status_code, "detail": detail})

    def _cut(self, reply: "_Reply", exc: Exception | None) -> LoragError:
        why = f" ({exc})" if exc else ""
        return LoragError(f"The engine at {self.url} stopped answering in the middle of the reply{why}. "
                          f"The {len(reply.answer)} characters it sent are kept.",
                          hint="Check that the engine is still running.",
                          key="engine.cut_off", hint_key="engine.cut_off_hint",
                          params={"url": self.url, "why": why, "kept": len(reply.answer)})


class _HangUp:
    """Stop closes the connection at once, not at the engine's next chunk (a reply waiting in the engine's queue or
    in a long prefill sends nothing for a while): a watcher thread shuts the socket down the moment `stop_event` is
    set, which wakes the blocked read with end-of-stream and tells the engine the client is gone."""

    POLL_S = 0.05

    def __init__(self, response: httpx.Response, stop_event: threading.Event) -> None:
        self.response, self.stop_event = response, stop_event
        self.over = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="engine-hang-up", daemon=True)

    def __enter__(self) -> None:
        self.watcher.start()

    def __exit__(self, *exc: Any) -> bool:
        self.over.set()
        self.watcher.join(1.0)
        return False

    def _watch(self) -> None:
        while not self.over.is_set():
            if self.stop_event.wait(self.POLL_S):
                if not self.over.is_set():
                    self._hang_up()
                return

    def _hang_up(self) -> None:
        stream = self.response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)   # thread-safe, unlike closing the response under a read
            else:
                self.response.close()
        except (OSError, httpx.HTTPError):
            pass   # the stream ended meanwhile


class _Calling:
    """Turns a failed call into a LoragError that names the engine."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, CONNECT_FAILURES):
            raise LoragError(f"The engine at {self.url} is not reachable: {exc}.",
                             hint="Start it, or give the right address with --engine-url.",
                             key="engine.unreachable", hint_key="engine.unreachable_hint",
                             params={"url": self.url, "exc": exc}) from None
        if isinstance(exc, httpx.HTTPError):
            raise LoragError(f"The engine at {self.url} did not answer: {exc or type(exc).__name__}.",
                             key="engine.no_answer",
                             params={"url": self.url, "detail": exc or type(exc).__name__}) from None
        return False


def sampling(params: GenerationParams) -> dict[str, Any]:
    """The request's sampling fields. top_k, min_p and repetition_penalty are not OpenAI's, but vLLM, SGLang,
    llama.cpp and Lorag read them."""
    body: dict[str, Any] = {"temperature": params.temperature, "top_p": params.top_p,
                            "max_tokens": params.max_new_tokens}
    extras = {"top_k": params.top_k, "min_p": params.min_p, "repetition_penalty": params.repetition_penalty}
    body.update({name: value for name, value in extras.items() if value != OFF[name]})  # strict servers: omitted
    if params.stop:
        body["stop"] = list(params.stop)
    if params.seed >= 0:
        body["seed"] = params.seed
    return body


def _sse_data(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent-event stream, up to `data: [DONE]`."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        try:
            yield json.loads(payload)
        except ValueError:
            continue


class _Reply:
    """The reply being received: text so far, token counts, and why it ended."""

    def __init__(self, model: str, adapter: str, seed: int, chat: bool = True) -> None:
        self.model, self.adapter, self.seed, self.chat = model, adapter, seed, chat
        self.answer = self.reasoning = self.finish = ""
        self.usage: dict[str, Any] = {}
        self.started = time.perf_counter()
        self.first_at: float | None = None

    def take(self, data: dict[str, Any]) -> Iterator[StreamEvent]:
        if isinstance(data.get("error"), dict):
            raise LoragError(f"The engine failed while answering: {data['error'].get('message', data['error'])}",
                             key="engine.failed", params={"detail": data['error'].get('message', data['error'])})
        self.usage = data.get("usage") or self.usage
        for choice in data.get("choices") or []:
            delta = choice.get("delta") or {}
            thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
            if thought:
                yield self._piece("reasoning", thought)
            text = delta.get("content") or choice.get("text")   # chat chunks carry a delta, completions a text
            if text:
                yield self._piece("answer", text)
            if choice.get("finish_reason"):
                self.finish = FINISH.get(choice["finish_reason"], "eos")

    def _piece(self, kind: str, delta: str) -> StreamEvent:
        self.first_at = self.first_at or time.perf_counter()
        if kind == "answer":
            self.answer += delta
        else:
            self.reasoning += delta
        return StreamEvent(kind, delta, self.answer, self.reasoning)

    def done(self, finish: str) -> StreamEvent:
        seconds = time.perf_counter() - self.started
        tokens = int(self.usage.get("completion_tokens") or 0)
        stats = GenerationStats(
            prompt_tokens=int(self.usage.get("prompt_tokens") or 0), completion_tokens=tokens, seconds=seconds,
            time_to_first_token=(self.first_at - self.started) if self.first_at else seconds,
            tokens_per_second=tokens / seconds if seconds > 0 else 0.0, finish_reason=finish,
            adapter=self.adapter, model=self.model, seed=self.seed)
        answer = self.answer.strip() if self.chat else self.answer   # a continuation keeps its exact text
        return StreamEvent("done", "", answer, self.reasoning.strip(), stats)
