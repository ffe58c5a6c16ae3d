"""What the Chat tab shows: a stored chat turned into chatbot messages (answer, folded reasoning, sources,
stats), a reply as it streams, and the line about the loaded model. Functions of the engine's data, no
components."""

from __future__ import annotations

import html
from typing import Any, Callable, Iterator

from engine.chat_turn import NO_MODEL_REPLY, show_reply
from engine.chats import Chat
from engine.errors import Phrase
from engine.jobs import Jobs
from engine.rag.chat_files import FilesState, files_state
from engine.studio import Studio
from ui.components.sources import sources_message
from ui.errors import said
from ui.i18n import catalogue, say
from ui.tabs.documents_info import stage_label


def stats_line(meta: dict[str, Any]) -> str:
    if not meta.get("completion_tokens") and not meta.get("finish_reason"):
        return ""
    if meta.get("finish_reason") == NO_MODEL_REPLY:
        return say("chat.stats.not_asked")
    parts = [say("chat.stats.tokens", count=meta.get("completion_tokens", 0)),
             say("chat.stats.speed", speed=f"{meta.get('tokens_per_second', 0):.1f}"),
             say("chat.stats.prompt", count=meta.get("prompt_tokens", 0))]
    if meta.get("time_to_first_token"):
        parts.append(say("chat.stats.first_token", ms=f"{meta['time_to_first_token'] * 1000:.0f}"))
    parts.append(say("chat.stats.adapter", name=meta.get("adapter") or say("chat.stats.no_adapter")))
    reason = meta.get("finish_reason")
    if reason == "length":
        parts.append(say("chat.stats.cut"))
    elif reason == "stopped":
        parts.append(say("chat.stats.stopped"))
    return " · ".join(parts)


def stats_details(meta: dict[str, Any]) -> str:
    keys = ("model", "adapter", "seed", "finish_reason", "thinking", "seconds")
    rows = [f"{k}: {meta[k] if meta.get(k) not in (None, '') else '—'}" for k in keys if k in meta]
    params = meta.get("params") or {}
    if params:
        rows.append("sampling: " + ", ".join(f"{k}={v}" for k, v in params.items() if k != "stop" or v))
    return "\n".join(rows)


def thought(text: str, pending: bool = False) -> dict[str, Any]:
    return {"role": "assistant", "content": text,
            "metadata": {"title": "Reasoning", "status": "pending" if pending else "done"}}


def assistant_messages(answer: str, reasoning: str, meta: dict[str, Any] | None, streaming: bool = False) -> list:
    out = []
    if reasoning:
        out.append(thought(reasoning, pending=streaming and not answer))
    if answer or not streaming:
        out.append({"role": "assistant", "content": answer or ("*(no answer)*" if reasoning else "")})
    sources = sources_message(meta or {}) if not streaming else None
    if sources:
        out.append(sources)
    line = stats_line(meta or {})
    if line:
        out.append({"role": "assistant", "content": stats_details(meta), "metadata": {"title": line, "status": "done"}})
    return out


def files_text(text: str) -> str:
    """A files block's title or line in the person's language, a file's stage ('parsing page 3 of 12') too."""
    if isinstance(text, Phrase) and "stage" in text.params and text.key in catalogue("en"):
        params = {name: said(value) for name, value in text.params.items()}
        return say(text.key, **{**params, "stage": stage_label(str(text.params["stage"]))})
    return str(said(text))


def files_message(state: FilesState) -> dict[str, Any]:
    """A block under the question for the files dropped with it: what their indexing is doing, file by file."""
    title = files_text(state.title)
    body = "\n".join(f"- {files_text(line)}" for line in state.lines) or title
    return {"role": "assistant", "content": body,
            "metadata": {"title": title, "status": "pending" if state.active else "done"}}


def chat_display(chat: Chat | None, jobs: Jobs | None = None) -> tuple[list[dict[str, Any]], list[int]]:
    """Chatbot messages and, for each, the position of the stored message it shows (edits map back with it).
    `jobs` tells how far the indexing of dropped files is (without it their block names the files only)."""
    shown: list[dict[str, Any]] = []
    positions: list[int] = []
    for m in chat.messages if chat else []:
        if m.role == "user":
            files = files_state(jobs, m.meta)
            items = [{"role": "user", "content": m.content}] if m.content or files is None else []
            items += [files_message(files)] if files is not None else []
        elif m.role == "assistant":
            items = assistant_messages(m.content, m.reasoning, m.meta)
        else:
            continue
        shown += items
        positions += [m.position] * len(items)
    return shown, positions


def model_line(studio: Studio) -> str:
    current = studio.models.current
    if current is None:
        return say("chat_view.no_model")
    resident = studio.models.resident_adapters()
    extra = say("chat_view.adapters_in_memory", names=", ".join(resident)) if resident else ""
    return say("chat_view.model", model=html.escape(current.summary()), extra=extra)


Messages = list[dict[str, Any]]


def stream_reply_view(studio: Studio, chat_id: str, mode: str, request_id: str,
                      prepare: Callable[[Messages], tuple[Messages, dict[str, Any]]] | None = None,
                      who: str | None = None) -> Iterator[tuple[Messages, str]]:
    """Stream a reply into the chatbot (engine.chat_turn.show_reply runs and saves it): yields (chatbot
    messages, stats line).

    `prepare` is where documents plug in: retrieval adds passages to the messages and returns {"sources": [...]},
    saved in the reply's meta for a sources panel under the answer.
    """
    above: Messages | None = None
    for view in show_reply(studio.chats, studio.models, chat_id, mode, request_id, prepare, owner=who):
        if view.done:
            last_meta = view.chat.messages[-1].meta if view.chat.messages else {}
            yield chat_display(view.chat, studio.jobs)[0], stats_line(last_meta)
            return
        above = above if above is not None else chat_display(view.chat, studio.jobs)[0]
        if view.queue is not None:
            waiting = say("chat_view.waiting", ahead=view.queue.ahead, seconds=round(view.queue.expected_wait_s))
            yield above + assistant_messages(view.answer or f"⏳ {waiting}", view.reasoning, None,
                                             streaming=True), waiting
            continue
        yield above + assistant_messages(view.answer, view.reasoning, None, streaming=True), say("chat_view.generating")
