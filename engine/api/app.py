"""The /v1 routes: models, chat completions, completions, embeddings (FastAPI, mounted under /v1), the
evaluation routes of engine.api.evaluation and runtime LoRA loading (engine.api.lora).

Every request passes `ApiGate` first (credentials, body size), before its body is even read, so a caller
without credentials learns nothing but 401. Bodies are parsed here (engine.api.schemas.parse_body) so that
malformed JSON and wrong fields come back in OpenAI's error shape with status 400.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.api.auth import authenticate, check_body_size
from engine.api.errors import NOT_FOUND, RATE, SERVER, ApiError, from_lorag
from engine.api.evaluation import add_evaluation_routes
from engine.api.format import DONE_LINE, finish_reason, queue_comment, sse
from engine.api.lora import add_lora_routes
from engine.api.schemas import (
    MAX_BODY_BYTES,
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    parse_body,
    read_body,
)
from engine.api.service import Generation, OpenAIService
from engine.api.streaming import EventPump, StopHoldback, in_api_thread
from engine.errors import LoragError

if TYPE_CHECKING:
    from engine.studio import Studio

log = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


class ApiGate:
    """ASGI middleware: who is calling (scope["state"]["caller"]) or 401; bodies above the limit get 413."""

    def __init__(self, app: ASGIApp, studio: "Studio") -> None:
        self.app = app
        self.studio = studio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        try:
            client = (scope.get("client") or ("",))[0] or ""
            caller = authenticate(headers.get("authorization"), self.studio.access, self.studio.settings.api_key,
                                  client)
            check_body_size(headers.get("content-length"), MAX_BODY_BYTES)
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


def create_api_app(studio: "Studio") -> FastAPI:
    service = OpenAIService(studio)
    api = FastAPI(title="Lorag (OpenAI-compatible)", docs_url=None, redoc_url=None, openapi_url=None)
    api.add_middleware(ApiGate, studio=studio)
    _add_error_handlers(api)
    add_evaluation_routes(api, studio)
    add_lora_routes(api, studio)

    def client(request: Request) -> str | None:
        return request.client.host if request.client else None

    @api.get("/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": service.list_models()}

    @api.get("/models/{model_id:path}")
    async def get_model(model_id: str) -> dict[str, Any]:
        for entry in service.list_models():
            if entry["id"] == model_id:
                return entry
        raise ApiError(404, f"The model {model_id!r} does not exist here.", NOT_FOUND, param="model",
                       code="model_not_found")

    @api.post("/chat/completions")
    async def chat_completions(request: Request) -> Any:
        body = parse_body(await read_body(request), ChatCompletionRequest)
        generation = await in_api_thread(service.chat, body, request.state.caller, client(request))
        return await _respond(service, generation, body.stream, body.include_usage, chat=True)

    @api.post("/completions")
    async def completions(request: Request) -> Any:
        body = parse_body(await read_body(request), CompletionRequest)
        generation = await in_api_thread(service.completion, body, request.state.caller, client(request))
        if body.echo:
            generation.extra["echo"] = body.prompt
        return await _respond(service, generation, body.stream, body.include_usage, chat=False)

    @api.post("/embeddings")
    async def embeddings(request: Request) -> Any:
        from engine.api.documents import embedding_response

        body = parse_body(await read_body(request), EmbeddingRequest)
        vectors, tokens, model = await in_api_thread(service.embeddings, body.model, body.texts,
                                                         request.state.caller)
        return embedding_response(vectors, tokens, model, body.encoding_format, body.dimensions)

    return api


async def _respond(service: OpenAIService, generation: Generation, stream: bool, include_usage: bool,
                   chat: bool) -> Any:
    pump = EventPump(generation.events, lambda: service.stop(generation.request_id))
    try:
        first = await pump.__anext__()  # errors before the first token still get a proper status code
    except StopAsyncIteration:
        first = None
    except LoragError as exc:
        await pump.close()
        raise from_lorag(exc) from None
    except BaseException:
        await pump.close()
        raise
    if not stream and first is not None and first.kind == "queued":
        first = await _wait_unless_too_long(pump, first, service.queue_limit)
    if stream:
        events = _chat_events(generation, pump, first, include_usage) if chat else \
            _text_events(generation, pump, first, include_usage)
        return StreamingResponse(_sse_stream(events, pump), media_type="text/event-stream", headers=SSE_HEADERS)
    try:
        if pump.done is None:
            async for _ in pump:
                pass
    except LoragError as exc:
        raise from_lorag(exc) from None
    finally:
        await pump.close()
    done = pump.done
    if done is None:
        raise ApiError(500, "The generation ended without an answer.", SERVER)
    extra = dict(generation.extra)
    if generation.finish_extra is not None:
        extra.update(generation.finish_extra(done.answer))
    if chat:
        return generation.reply.chat_completion(done.answer, done.reasoning, done.stats, extra or None)
    text = extra.pop("echo", "") + done.answer
    return generation.reply.completion(text, done.stats)


async def _wait_unless_too_long(pump: EventPump, first: Any, limit: int) -> Any:
    """A non-streaming request that would wait behind more than `limit` others is refused with Retry-After (it
    cannot be told its place while it waits); otherwise it waits, and its first event after the queue comes back."""
    place = first.queue
    if place.ahead > limit:
        await pump.close()
        raise ApiError(429, f"The model is busy: {place.ahead} requests are ahead of this one (the limit for a "
                            f"request that does not stream is {limit}). Try again later, or stream to wait in line.",
                       RATE, code="queue_full", headers={"Retry-After": str(max(1, round(place.expected_wait_s)))})
    try:
        async for event in pump:
            if event.kind != "queued":
                return event
    except BaseException:
        await pump.close()
        raise
    return None


async def _events_from(pump: EventPump, first: Any) -> AsyncIterator[Any]:
    if first is not None:
        yield first
    async for event in pump:
        yield event


async def _sse_stream(events: AsyncIterator[str], pump: EventPump) -> AsyncIterator[str]:
    """The SSE lines of `events`, then [DONE]; an error mid-stream becomes one error event before [DONE]."""
    try:
        async for line in events:
            yield line
        yield DONE_LINE
    except LoragError as exc:
        yield sse(from_lorag(exc).body())
        yield DONE_LINE
    finally:
        await pump.close()


async def _chat_events(generation: Generation, pump: EventPump, first: Any,
                       include_usage: bool) -> AsyncIterator[str]:
    reply, holdback = generation.reply, StopHoldback(generation.stops)
    yield sse(reply.chat_chunk({"role": "assistant", "content": ""}, with_usage_field=include_usage))
    async for event in _events_from(pump, first):
        if event.kind == "queued":
            yield queue_comment(event.queue)
        elif event.kind == "reasoning" and event.delta:
            yield sse(reply.chat_chunk({"reasoning_content": event.delta}, with_usage_field=include_usage))
        elif event.kind == "answer":
            delta = holdback.push(event.answer)
            if delta:
                yield sse(reply.chat_chunk({"content": delta}, with_usage_field=include_usage))
        elif event.kind == "done":
            rest = holdback.finish(event.answer)
            if rest:
                yield sse(reply.chat_chunk({"content": rest}, with_usage_field=include_usage))
            final = reply.chat_chunk({}, finish_reason(event.stats), with_usage_field=include_usage)
            extra = dict(generation.extra)
            if generation.finish_extra is not None:
                extra.update(generation.finish_extra(event.answer))
            final.update(extra)
            yield sse(final)
            if include_usage:
                yield sse(reply.usage_chunk(event.stats))


async def _text_events(generation: Generation, pump: EventPump, first: Any,
                       include_usage: bool) -> AsyncIterator[str]:
    reply, holdback = generation.reply, StopHoldback(generation.stops)
    echo = generation.extra.get("echo")
    if echo:
        yield sse(reply.completion_chunk(echo, with_usage_field=include_usage))
    async for event in _events_from(pump, first):
        if event.kind == "queued":
            yield queue_comment(event.queue)
        elif event.kind == "answer":
            delta = holdback.push(event.answer)
            if delta:
                yield sse(reply.completion_chunk(delta, with_usage_field=include_usage))
        elif event.kind == "done":
            rest = holdback.finish(event.answer)
            yield sse(reply.completion_chunk(rest, finish_reason(event.stats), with_usage_field=include_usage))
            if include_usage:
                yield sse(reply.usage_chunk(event.stats, "text_completion"))


def _add_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @api.exception_handler(LoragError)
    async def _lorag_error(request: Request, exc: LoragError) -> JSONResponse:
        return error_response(from_lorag(exc))

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"Unknown endpoint: {request.method} {request.url.path}."
            return error_response(ApiError(404, message, NOT_FOUND, code="unknown_url"))
        if exc.status_code == 405:
            message = f"{request.url.path} does not accept {request.method}."
            return error_response(ApiError(405, message, code="method_not_allowed"))
        return error_response(ApiError(exc.status_code, str(exc.detail)))

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request %s %s failed", request.method, request.url.path)
        return error_response(ApiError(500, f"The server failed on this request: {type(exc).__name__}.", SERVER))
