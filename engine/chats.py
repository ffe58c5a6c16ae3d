"""Chats and their messages in SQLite (tables `chats` and `messages`, schema v1).

`ChatStore` (`studio.chats`):
- `create(title, settings, owner) -> Chat`, `list(owner=None) -> list[ChatSummary]` (newest first),
  `get(chat_id, owner=None) -> Chat` (with its messages; with `owner`, another person's chat is refused),
  `exists(chat_id, owner=None)`, `find(chat_id, owner=None) -> Chat | None`, `rename`, `delete`,
  `update_settings(chat_id, **changes)`.
  With logins on, the Chat tab passes the signed-in user as `owner` everywhere; without, owner is None / ''.
- Messages: `append(chat_id, role, content, reasoning, meta) -> Message`, `edit(chat_id, position, content)`,
  `update_message(...)`, `truncate(chat_id, position)` (drops that message and everything after it).
- `history(chat_id) -> list[dict]`: what is sent to the model (system prompt from the chat's settings, then the
  messages with role, content and reasoning; engine.models.thinking decides what of the reasoning goes back).
- `export(chat_id) -> dict` / `import_chat(data) -> Chat`: JSON with format "lorag-chat" version 1.

A chat's `settings` JSON: model, adapter ('' for none), system_prompt, preset, params (GenerationParams as a
dict), thinking (bool), preserve_thinking (bool) and reasoning_effort (Qwen3.6 / 3.8 templates), compare_adapter,
and later collection (documents). A message's `meta` JSON: token counts,
tokens/s, time to first token, finish reason, adapter, model, seed, sampling params, thinking, the exact prompt
the model received, `sources` (documents), and on a user message `attachments` (files dropped with it:
engine.rag.chat_files; a drop without a question is not sent to the model).

One turn of a chat (stream a reply from the model and save it) is engine.chat_turn.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.errors import LoragError
from engine.prompts import prompt
from engine.store import Store, now

EXPORT_FORMAT = "lorag-chat"
EXPORT_VERSION = 1
ROLES = ("system", "user", "assistant", "tool")
DEFAULT_TITLE = "New chat"
MAX_IMPORT_MESSAGES = 10_000
TITLE_LENGTH = 60
ATTACHMENTS = "attachments"   # a user message's meta key for files dropped with it (engine.rag.chat_files)


@dataclass
class Message:
    id: int
    chat_id: str
    position: int
    role: str
    content: str
    reasoning: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0


def default_system(language: str | None) -> str:
    """The system prompt of a chat that sets none: '' (the model's own) in English; in another page language,
    one that asks for answers in it (presets/prompts)."""
    return prompt("chat_system", language).strip()


@dataclass
class ChatSummary:
    id: str
    title: str
    updated_at: float
    created_at: float
    owner: str = ""


@dataclass
class Chat:
    id: str
    title: str
    owner: str
    settings: dict[str, Any]
    created_at: float
    updated_at: float
    messages: list[Message] = field(default_factory=list)


class ChatStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # --- chats ------------------------------------------------------------------------------------------
    def create(self, title: str = DEFAULT_TITLE, settings: dict[str, Any] | None = None, owner: str = "") -> Chat:
        chat_id = uuid.uuid4().hex[:16]
        stamp = now()
        self.store.insert("chats", {"id": chat_id, "title": _title(title), "owner": owner,
                                    "settings": settings or {}, "created_at": stamp, "updated_at": stamp})
        return self.get(chat_id)

    def list(self, owner: str | None = None) -> list[ChatSummary]:
        sql = "SELECT id, title, owner, created_at, updated_at FROM chats"
        params: tuple = ()
        if owner is not None:
            sql, params = sql + " WHERE owner = ?", (owner,)
        rows = self.store.all(sql + " ORDER BY updated_at DESC, created_at DESC", params)
        return [ChatSummary(**row) for row in rows]

    def get(self, chat_id: str, owner: str | None = None) -> Chat:
        """The chat with its messages. With `owner`, another person's chat is refused as if it did not exist."""
        row = self.store.one("SELECT * FROM chats WHERE id = ?", (chat_id,))
        if row is None or (owner is not None and row["owner"] != owner):
            raise LoragError("This chat no longer exists.", hint="Pick another one in the list.",
                             key="chat.gone", hint_key="chat.gone_hint")
        messages = self.store.all("SELECT * FROM messages WHERE chat_id = ? ORDER BY position", (chat_id,))
        return Chat(**row, messages=[Message(**m) for m in messages])

    def find(self, chat_id: str | None, owner: str | None = None) -> Chat | None:
        """The chat, or None when there is none by that id (for `owner`: none of theirs)."""
        return self.get(chat_id, owner) if self.exists(chat_id, owner) else None

    def exists(self, chat_id: str | None, owner: str | None = None) -> bool:
        """True when the chat exists (and, with `owner`, belongs to that person)."""
        if not chat_id:
            return False
        row = self.store.one("SELECT owner FROM chats WHERE id = ?", (chat_id,))
        return row is not None and (owner is None or row["owner"] == owner)

    def rename(self, chat_id: str, title: str) -> Chat:
        self._require(chat_id)
        if not (title or "").strip():
            raise LoragError("A chat needs a title.", key="chat.needs_title")
        self.store.update("chats", "id", chat_id, {"title": _title(title), "updated_at": now()})
        return self.get(chat_id)

    def delete(self, chat_id: str) -> None:
        self._require(chat_id)
        with self.store.transaction():
            self.store.execute("DELETE FROM messages WHERE chat_id = ?", (chat_id,))
            self.store.execute("DELETE FROM chats WHERE id = ?", (chat_id,))

    def update_settings(self, chat_id: str, **changes: Any) -> dict[str, Any]:
        with self.store.transaction():
            settings = {**self._require(chat_id)["settings"], **changes}
            self.store.update("chats", "id", chat_id, {"settings": settings})
        return settings

    def _require(self, chat_id: str) -> dict[str, Any]:
        row = self.store.one("SELECT * FROM chats WHERE id = ?", (chat_id,))
        if row is None:
            raise LoragError("This chat no longer exists.", hint="Pick another one in the list.",
                             key="chat.gone", hint_key="chat.gone_hint")
        return row

    # --- messages -----------------------------------------------------------------------------------------
    def append(self, chat_id: str, role: str, content: str, reasoning: str = "",
               meta: dict[str, Any] | None = None) -> Message:
        if role not in ROLES:
            raise LoragError(f"Unknown message role {role!r}.", key="chat.unknown_role", params={"role": role})
        with self.store.transaction():
            chat = self._require(chat_id)
            row = self.store.one("SELECT COALESCE(MAX(position), -1) + 1 AS next FROM messages WHERE chat_id = ?",
                                 (chat_id,))
            stamp = now()
            message_id = self.store.insert("messages", {
                "chat_id": chat_id, "position": row["next"], "role": role, "content": content or "",
                "reasoning": reasoning or "", "meta": meta or {}, "created_at": stamp})
            changes: dict[str, Any] = {"updated_at": stamp}
            if role == "user" and chat["title"] == DEFAULT_TITLE and content.strip():
                changes["title"] = _title(content)
            self.store.update("chats", "id", chat_id, changes)
        return self._message(message_id)

    def update_message(self, chat_id: str, position: int, content: str | None = None,
                       reasoning: str | None = None, meta: dict[str, Any] | None = None) -> Message:
        changes: dict[str, Any] = {}
        if content is not None:
            changes["content"] = content
        if reasoning is not None:
            changes["reasoning"] = reasoning
        if meta is not None:
            changes["meta"] = meta
        with self.store.transaction():
            row = self.store.one("SELECT id FROM messages WHERE chat_id = ? AND position = ?", (chat_id, position))
            if row is None:
                raise LoragError("That message no longer exists.", key="chat.message_gone")
            self.store.update("messages", "id", row["id"], changes)
            self.store.update("chats", "id", chat_id, {"updated_at": now()})
        return self._message(row["id"])

    def edit(self, chat_id: str, position: int, content: str) -> Message:
        """Change a message's text; a title taken from the old first question follows the edit (a name the
        person gave stays)."""
        chat = self._require(chat_id)
        first = self.store.one("SELECT position, content FROM messages WHERE chat_id = ? AND role = 'user' "
                               "ORDER BY position LIMIT 1", (chat_id,))
        message = self.update_message(chat_id, position, content=content)
        if first and first["position"] == position and chat["title"] == _title(first["content"]) and content.strip():
            self.store.update("chats", "id", chat_id, {"title": _title(content)})
        return message

    def truncate(self, chat_id: str, position: int) -> int:
        """Delete the message at `position` and all after it; returns how many were deleted."""
        self._require(chat_id)
        cursor = self.store.execute("DELETE FROM messages WHERE chat_id = ? AND position >= ?", (chat_id, position))
        self.store.update("chats", "id", chat_id, {"updated_at": now()})
        return cursor.rowcount

    def _message(self, message_id: int) -> Message:
        return Message(**self.store.one("SELECT * FROM messages WHERE id = ?", (message_id,)))

    def history(self, chat_id: str) -> list[dict[str, Any]]:
        """The conversation as the model gets it: the system prompt first, then every message."""
        chat = self.get(chat_id)
        out: list[dict[str, Any]] = []
        system = (chat.settings.get("system_prompt") or "").strip() or default_system(chat.settings.get("language"))
        if system:
            out.append({"role": "system", "content": system})
        for m in chat.messages:
            if m.role == "user" and m.meta.get(ATTACHMENTS) and not m.content.strip():
                continue   # files dropped without a question: the documents answer, not the message
            item = {"role": m.role, "content": m.content}
            if m.reasoning:
                item["reasoning"] = m.reasoning
            out.append(item)
        return out

    # --- export / import -------------------------------------------------------------------------------
    def export(self, chat_id: str) -> dict[str, Any]:
        chat = self.get(chat_id)
        return {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": time.time(),
                "title": chat.title, "settings": chat.settings, "created_at": chat.created_at,
                "messages": [{k: v for k, v in asdict(m).items() if k not in {"id", "chat_id", "position"}}
                             for m in chat.messages]}

    def export_json(self, chat_id: str) -> str:
        return json.dumps(self.export(chat_id), indent=2, ensure_ascii=False)

    def import_chat(self, data: dict[str, Any] | str | bytes, owner: str = "") -> Chat:
        """A new chat from an export (also accepts a plain list of {role, content} messages)."""
        data = _parse_import(data)
        messages = data["messages"]
        chat = self.create(title=data.get("title") or "Imported chat", settings=data.get("settings") or {},
                           owner=owner)
        with self.store.transaction():
            for position, m in enumerate(messages):
                self.store.insert("messages", {
                    "chat_id": chat.id, "position": position, "role": m["role"], "content": m["content"],
                    "reasoning": m.get("reasoning") or "", "meta": m.get("meta") or {},
                    "created_at": float(m.get("created_at") or now())})
        return self.get(chat.id)


def _title(text: str) -> str:
    line = " ".join((text or "").split())
    return (line[:TITLE_LENGTH - 1] + "…") if len(line) > TITLE_LENGTH else (line or DEFAULT_TITLE)


def _parse_import(data: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise LoragError(f"This is not a chat export: the JSON does not parse ({exc}).",
                             key="chat.import_not_json", params={"exc": exc}) from exc
    if isinstance(data, list):
        data = {"format": EXPORT_FORMAT, "messages": data}
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise LoragError("This is not a chat export: it needs a 'messages' list.", key="chat.import_no_messages")
    if data.get("format", EXPORT_FORMAT) != EXPORT_FORMAT:
        raise LoragError(f"Unknown chat export format {data.get('format')!r}.",
                         key="chat.import_unknown_format", params={"format": data.get('format')})
    if len(data["messages"]) > MAX_IMPORT_MESSAGES:
        raise LoragError(f"The chat has more than {MAX_IMPORT_MESSAGES} messages.",
                         key="chat.import_too_long", params={"limit": MAX_IMPORT_MESSAGES})
    for i, m in enumerate(data["messages"], start=1):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise LoragError(f"Message {i} of the import needs a role ({', '.join(ROLES)}) and a text content.",
                             key="chat.import_bad_message", params={"number": i, "roles": ', '.join(ROLES)})
    if not isinstance(data.get("settings", {}), dict):
        raise LoragError("The chat's settings must be a JSON object.", key="chat.import_bad_settings")
    return data
