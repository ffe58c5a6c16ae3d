"""One turn of a chat: stream the assistant's reply from the model and save it (engine.chats stores the chat).

Modes: NEW answers the last user message; REGENERATE drops the replies after it and answers again; CONTINUE
extends the last assistant message. The adapter, thinking and sampling come from the chat's settings.

`stream_reply(chats, models, chat_id, mode, request_id, prepare)` runs one turn: it reads the chat's settings,
streams the reply from `studio.models` and saves it (a stopped reply is saved with what was generated).
`prepare` is the hook for documents: it receives the messages about to be sent and returns
(messages, extra_meta), e.g. with retrieved passages added and extra_meta={"sources": [...]}, or a
`PreparedTurn`, which can also answer without the model (`reply`, e.g. "nothing relevant was found") and add
meta computed from the finished answer (`finish`, e.g. the sources the answer cites).

`show_reply(...)` is the same turn reported as what a chat shows (`ReplyView`s: the messages above the reply and
the reply so far, a continued message's earlier text included; last, the saved chat), so a page only draws it.
`last_prompt(...)` is the exact prompt the last reply received, else the one the next reply would get.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

from engine.chats import Chat, ChatStore, Message
from engine.errors import LoragError

NEW, REGENERATE, CONTINUE = "new", "regenerate", "continue"
NO_MODEL_REPLY = "answered_without_model"   # finish_reason of a PreparedTurn.reply


@dataclass
class PreparedTurn:
    """What a `prepare` hook returns when a plain (messages, extra_meta) pair is not enough."""

    messages: list[dict[str, Any]] = field(metadata={"help": "The messages the model receives."})
    meta: dict[str, Any] = field(default_factory=dict, metadata={"help": "Saved with the reply."})
    reply: str | None = field(default=None, metadata={
        "help": "A fixed reply: the model is not called (e.g. nothing relevant was found in the documents)."})
    finish: Callable[[str], dict[str, Any]] | None = field(default=None, metadata={
        "help": "Called with the whole answer text once it is finished; its dict is saved with the reply."})

    @classmethod
    def of(cls, prepared: "PreparedTurn | tuple[list[dict[str, Any]], dict[str, Any]]") -> "PreparedTurn":
        if isinstance(prepared, PreparedTurn):
            return prepared
        messages, extra_meta = prepared
        return cls(messages, dict(extra_meta or {}))

    def extra_meta(self, answer: str) -> dict[str, Any]:
        return {**self.meta, **(self.finish(answer) if self.finish is not None else {})}


Prepare = Callable[[list[dict[str, Any]]], PreparedTurn | tuple[list[dict[str, Any]], dict[str, Any]]]


@dataclass
class Turn:
    """A reply about to be written: the chat as it stands above the reply and, when continuing, the message
    the reply extends."""

    mode: str
    above: Chat
    continued: Message | None = None

    @property
    def earlier(self) -> tuple[str, str]:
        """The continued message's answer and reasoning ('' and '' for a new reply)."""
        return (self.continued.content, self.continued.reasoning) if self.continued else ("", "")


@dataclass
class ReplyView:
    """One step of a reply as a chat shows it. While it streams, `chat` holds the messages above the reply and
    `answer` / `reasoning` the reply so far (a continued message's earlier text first); the last one is `done`,
    with `chat` as saved, the reply included."""

    chat: Chat
    answer: str = ""
    reasoning: str = ""
    done: bool = False
    queue: Any = None  # while the reply waits for the model (API requests ahead): its QueuePlace


def begin_turn(chats: ChatStore, chat_id: str, mode: str, owner: str | None = None) -> Turn:
    """Check that the chat has something for `mode` to answer, and drop the replies a regeneration replaces.
    With `owner`, another person's chat is refused as if it did not exist."""
    chat = chats.get(chat_id, owner)
    last = chat.messages[-1] if chat.messages else None
    if mode == REGENERATE:
        last_user = max((m.position for m in chat.messages if m.role == "user"), default=None)
        if last_user is None:
            raise LoragError("There is no message to answer again.", key="chat.nothing_to_regenerate")
        chats.truncate(chat_id, last_user + 1)
        return Turn(mode, replace(chat, messages=[m for m in chat.messages if m.position <= last_user]))
    if mode == CONTINUE:
        if last is None or last.role != "assistant":
            raise LoragError("There is no reply to continue.", key="chat.nothing_to_continue")
        return Turn(mode, replace(chat, messages=chat.messages[:-1]), continued=last)
    if last is None or last.role != "user":
        raise LoragError("Write a message first.", key="chat.write_first")
    return Turn(mode, chat)


def stream_reply(chats: ChatStore, models: Any, chat_id: str, mode: str = NEW, request_id: str | None = None,
                 prepare: Prepare | None = None) -> Iterator[Any]:
    """Stream the assistant's reply to chat `chat_id` and save it; yields engine StreamEvents (continuing, their
    answer and reasoning are the new text only)."""
    turn = begin_turn(chats, chat_id, mode)
    yield from _stream_and_save(chats, models, turn, request_id, prepare)


def show_reply(chats: ChatStore, models: Any, chat_id: str, mode: str = NEW, request_id: str | None = None,
               prepare: Prepare | None = None, owner: str | None = None) -> Iterator[ReplyView]:
    """stream_reply, reported as what the chat shows: a ReplyView per streamed step, then the saved chat."""
    turn = begin_turn(chats, chat_id, mode, owner)
    answer, reasoning = turn.earlier
    for event in _stream_and_save(chats, models, turn, request_id, prepare, report_queue=True):
        if event.kind == "queued":
            yield ReplyView(turn.above, answer, reasoning, queue=event.queue)
        elif event.kind != "done":
            yield ReplyView(turn.above, answer + event.answer, reasoning + event.reasoning)
    yield ReplyView(chats.get(chat_id), done=True)


def fixed_reply(text: str, model: str = "") -> Iterator[Any]:
    """The events of a reply that is not generated (same shape as a model stream)."""
    from engine.models.generation import GenerationStats, StreamEvent

    if text:
        yield StreamEvent("answer", delta=text, answer=text)
    yield StreamEvent("done", answer=text, stats=GenerationStats(finish_reason=NO_MODEL_REPLY, model=model))


def _model_stream(models: Any, turn: Turn, prepared: PreparedTurn, params: Any,
                  request_id: str | None, report_queue: bool = False) -> Iterator[Any]:
    """The prepared fixed reply's events, else the model's stream with the chat's adapter and switches."""
    settings = turn.above.settings
    if prepared.reply is not None:
        current = getattr(models, "current", None)
        return fixed_reply(prepared.reply, getattr(current, "name", ""))
    switches = chat_switches(models, settings)
    return models.stream_chat(prepared.messages, params, adapter=settings.get("adapter") or None,
                              thinking=settings.get("thinking"), continue_final=(turn.mode == CONTINUE),
                              request_id=request_id, report_queue=report_queue, **switches)


def chat_switches(models: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """The chat's preserve_thinking / reasoning_effort that the loaded model's template reads. A chat keeps its
    switches when another model is loaded (they show again with a model that has them); a model without one
    answers as if it was never set, rather than refusing the chat."""
    current = getattr(models, "current", None)
    known = set(getattr(current, "switches", None) or [])
    return {k: settings[k] for k in ("preserve_thinking", "reasoning_effort") if settings.get(k) and k in known}


def _stream_and_save(chats: ChatStore, models: Any, turn: Turn, request_id: str | None,
                     prepare: Prepare | None, report_queue: bool = False) -> Iterator[Any]:
    from engine.models.generation import GenerationParams

    chat_id = turn.above.id
    messages = chats.history(chat_id)
    prepared = PreparedTurn.of(prepare(messages)) if prepare is not None else PreparedTurn(messages)
    params = GenerationParams.from_dict(turn.above.settings.get("params"))
    final = None
    partial = ("", "")
    try:
        for event in _model_stream(models, turn, prepared, params, request_id, report_queue):
            if event.kind == "done":
                final = event
            elif event.kind != "queued":
                partial = (event.answer, event.reasoning)
            yield event
    finally:
        answer, reasoning = (final.answer, final.reasoning) if final is not None else partial
        meta = {**(final.stats.to_meta() if final is not None and final.stats else {"finish_reason": "stopped"}),
                "thinking": turn.above.settings.get("thinking"), "params": params.to_dict(),
                **prepared.extra_meta(turn.earlier[0] + answer)}
        if final is not None and final.prompt:
            meta["prompt"] = final.prompt  # "Show prompt": exactly what the model received
        if final is not None or answer or reasoning:
            _save_reply(chats, chat_id, turn.continued, answer, reasoning, meta)


def _save_reply(chats: ChatStore, chat_id: str, continued: Message | None, answer: str, reasoning: str,
                meta: dict[str, Any]) -> None:
    if continued is not None:
        joined_reasoning = (continued.reasoning + reasoning) if reasoning else continued.reasoning
        chats.update_message(chat_id, continued.position, content=continued.content + answer,
                             reasoning=joined_reasoning, meta={**continued.meta, **meta, "continued": True})
        return
    chats.append(chat_id, "assistant", answer, reasoning=reasoning, meta=meta)


def last_prompt(chats: ChatStore, models: Any, chat_id: str | None, settings: dict[str, Any],
                owner: str | None = None) -> str:
    """The prompt the last reply received (stored with it), else the one the next reply would get with these
    settings (no chat, or another person's: a placeholder question)."""
    chat = chats.find(chat_id, owner)
    if chat is not None:
        if chat.messages and chat.messages[-1].role == "assistant" and chat.messages[-1].meta.get("prompt"):
            return chat.messages[-1].meta["prompt"]
        messages = chats.history(chat_id)
    else:
        messages = [{"role": "user", "content": "…"}]
    if settings.get("system_prompt") and not (messages and messages[0]["role"] == "system"):
        messages = [{"role": "system", "content": settings["system_prompt"]}, *messages]
    if messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    if not messages:
        raise LoragError("There is nothing to show yet: write a message first.", key="chat.nothing_to_show")
    return models.render_prompt(messages, thinking=settings.get("thinking"), **chat_switches(models, settings))
