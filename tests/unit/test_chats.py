"""Chats in SQLite: create/list/rename/delete, messages, export/import, and one reply turn saved with its stats."""

from __future__ import annotations

import json

import pytest

from engine.chat_turn import last_prompt, show_reply, stream_reply
from engine.chats import ChatStore
from engine.errors import LoragError
from engine.settings import Settings
from engine.store import Store
from engine.studio import Studio

GREEDY = {"temperature": 0, "max_new_tokens": 8, "repetition_penalty": 1.5}


@pytest.fixture
def chats(tmp_path) -> ChatStore:
    return ChatStore(Store(tmp_path / "lorag.sqlite"))


def test_chat_life_cycle(chats, tmp_path):
    chat = chats.create(settings={"system_prompt": "Be brief.", "adapter": ""})
    assert chat.title == "New chat" and chat.messages == []
    chats.append(chat.id, "user", "What is the capital of France? Tell me everything you know about it please.")
    chats.append(chat.id, "assistant", "Paris.", reasoning="France -> Paris", meta={"completion_tokens": 3})
    other = chats.create(title="Other")
    listed = chats.list()
    assert [c.id for c in listed] == [other.id, chat.id]
    loaded = chats.get(chat.id)
    assert loaded.title.startswith("What is the capital of France?") and len(loaded.title) <= 60
    assert [(m.position, m.role) for m in loaded.messages] == [(0, "user"), (1, "assistant")]
    assert loaded.messages[1].meta == {"completion_tokens": 3} and loaded.messages[1].reasoning == "France -> Paris"
    assert chats.history(chat.id) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": loaded.messages[0].content},
        {"role": "assistant", "content": "Paris.", "reasoning": "France -> Paris"},
    ]
    chats.rename(chat.id, "  France  ")
    chats.edit(chat.id, 0, "Capital of France?")
    assert chats.get(chat.id).title == "France" and chats.get(chat.id).messages[0].content == "Capital of France?"
    assert chats.truncate(chat.id, 1) == 1 and len(chats.get(chat.id).messages) == 1
    chats.update_settings(chat.id, adapter="alpha", thinking=True)
    assert chats.get(chat.id).settings == {"system_prompt": "Be brief.", "adapter": "alpha", "thinking": True}
    # A new store on the same file (a restart, or another page): everything is there.
    again = ChatStore(Store(tmp_path / "lorag.sqlite"))
    assert again.get(chat.id).settings["adapter"] == "alpha"
    chats.delete(chat.id)
    assert [c.id for c in chats.list()] == [other.id]
    with pytest.raises(LoragError, match="no longer exists"):
        chats.get(chat.id)
    with pytest.raises(LoragError, match="needs a title"):
        chats.rename(other.id, "  ")


def test_editing_the_first_question_retitles_only_an_unnamed_chat(chats):
    chat = chats.create()
    chats.append(chat.id, "user", "What is the capital of France?")
    chats.append(chat.id, "assistant", "Paris.")
    chats.append(chat.id, "user", "And of Spain?")
    chats.edit(chat.id, 2, "And of Italy?")
    assert chats.get(chat.id).title == "What is the capital of France?"   # not the first question
    chats.edit(chat.id, 0, "What is the capital of Germany?")
    assert chats.get(chat.id).title == "What is the capital of Germany?"
    chats.rename(chat.id, "Capitals")
    chats.edit(chat.id, 0, "What is the capital of Peru?")
    assert chats.get(chat.id).title == "Capitals"


def test_export_import_round_trip(chats):
    chat = chats.create(settings={"system_prompt": "S", "params": {"temperature": 0.2}})
    chats.append(chat.id, "user", "Hi")
    chats.append(chat.id, "assistant", "Hello!", reasoning="greet", meta={"tokens_per_second": 12.5})
    chat = chats.get(chat.id)
    exported = json.loads(chats.export_json(chat.id))
    assert exported["format"] == "lorag-chat" and exported["version"] == 1
    copy = chats.import_chat(json.dumps(exported).encode())
    assert copy.id != chat.id and copy.title == chat.title and copy.settings == chat.settings
    assert copy.title == "Hi"
    assert [(m.role, m.content, m.reasoning, m.meta) for m in copy.messages] == \
        [(m.role, m.content, m.reasoning, m.meta) for m in chat.messages]
    plain = chats.import_chat([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    assert [m.content for m in plain.messages] == ["a", "b"]


@pytest.mark.parametrize("bad,match", [
    ("not json", "does not parse"),
    ('{"title": "x"}', "messages"),
    ('{"messages": [{"role": "wizard", "content": "x"}]}', "Message 1"),
    ('{"messages": [{"role": "user", "content": 5}]}', "Message 1"),
    ('{"format": "other", "messages": []}', "Unknown chat export"),
])
def test_bad_imports_are_refused(chats, bad, match):
    with pytest.raises(LoragError, match=match):
        chats.import_chat(bad)
    assert chats.list() == []


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_qwen3):
    studio = Studio(Settings(data_dir=tmp_path_factory.mktemp("chat-studio") / "data", no_weaviate=True))
    studio.models.load(str(tiny_qwen3))
    yield studio
    studio.close()


def test_a_reply_is_streamed_and_saved(studio):
    chat = studio.chats.create(settings={"params": GREEDY, "system_prompt": "You are terse."})
    studio.chats.append(chat.id, "user", "hi")
    events = list(stream_reply(studio.chats, studio.models, chat.id))
    done = events[-1]
    saved = studio.chats.get(chat.id).messages
    assert [m.role for m in saved] == ["user", "assistant"]
    assert saved[1].content == done.answer and done.answer
    meta = saved[1].meta
    assert meta["completion_tokens"] == done.stats.completion_tokens and meta["tokens_per_second"] > 0
    assert meta["adapter"] == "" and meta["params"]["max_new_tokens"] == 8


def test_regenerate_continue_and_stop(studio):
    chat = studio.chats.create(settings={"params": GREEDY})
    studio.chats.append(chat.id, "user", "hi")
    first = list(stream_reply(studio.chats, studio.models, chat.id))[-1].answer
    again = list(stream_reply(studio.chats, studio.models, chat.id, mode="regenerate"))[-1].answer
    messages = studio.chats.get(chat.id).messages
    assert len(messages) == 2 and again == first == messages[1].content   # greedy: same reply, replaced
    more = list(stream_reply(studio.chats, studio.models, chat.id, mode="continue"))[-1]
    continued = studio.chats.get(chat.id).messages[1]
    assert continued.content == first + more.answer and continued.meta["continued"]
    # Stop in the middle: what was generated is kept.
    studio.chats.update_settings(chat.id, params={**GREEDY, "max_new_tokens": 2000})
    studio.chats.append(chat.id, "user", "hi again")
    stream = stream_reply(studio.chats, studio.models, chat.id, request_id="tab-7")
    next(stream)
    studio.models.stop("tab-7")
    done = list(stream)[-1]
    last = studio.chats.get(chat.id).messages[-1]
    assert last.role == "assistant" and last.meta["finish_reason"] == "stopped"
    assert last.content == done.answer and done.stats.completion_tokens < 2000


def test_reply_needs_a_question(studio):
    chat = studio.chats.create()
    with pytest.raises(LoragError, match="Write a message first"):
        list(stream_reply(studio.chats, studio.models, chat.id))
    with pytest.raises(LoragError, match="no reply to continue"):
        list(stream_reply(studio.chats, studio.models, chat.id, mode="continue"))


def test_prepare_hook_adds_context_and_meta(studio):
    """The hook documents will use: change the messages sent, add to the saved meta."""
    chat = studio.chats.create(settings={"params": GREEDY})
    studio.chats.append(chat.id, "user", "What does the report say?")
    seen = {}

    def prepare(messages):
        seen["messages"] = messages
        return [{"role": "system", "content": "Context: page 3 says hi."}, *messages], {"sources": [{"page": 3}]}

    list(stream_reply(studio.chats, studio.models, chat.id, prepare=prepare))
    assert seen["messages"][-1]["content"] == "What does the report say?"
    assert studio.chats.get(chat.id).messages[-1].meta["sources"] == [{"page": 3}]


def test_a_reply_is_shown_as_the_chat_will_keep_it(studio):
    """show_reply: while it streams, the messages above the reply and the reply so far as a whole (a regenerated
    reply without the old one, a continued one with its earlier text first); last, the saved chat."""
    chat = studio.chats.create(settings={"params": GREEDY})
    studio.chats.append(chat.id, "user", "hi")
    *streamed, done = list(show_reply(studio.chats, studio.models, chat.id))
    saved = studio.chats.get(chat.id).messages
    assert streamed and all([m.role for m in v.chat.messages] == ["user"] for v in streamed)
    assert done.done and done.chat.messages == saved and streamed[-1].answer == saved[1].content
    *streamed, done = list(show_reply(studio.chats, studio.models, chat.id, mode="regenerate"))
    assert all(len(v.chat.messages) == 1 for v in streamed) and len(done.chat.messages) == 2
    first = done.chat.messages[1].content
    *streamed, done = list(show_reply(studio.chats, studio.models, chat.id, mode="continue"))
    assert all(len(v.chat.messages) == 1 and v.answer.startswith(first) for v in streamed)
    assert streamed[-1].answer == done.chat.messages[1].content and done.chat.messages[1].meta["continued"]
    with pytest.raises(LoragError, match="no longer exists"):
        list(show_reply(studio.chats, studio.models, chat.id, owner="bob"))


def test_the_prompt_shown_is_the_last_reply_s_else_the_next_one_s(studio):
    chat = studio.chats.create(settings={"params": GREEDY})
    studio.chats.append(chat.id, "user", "hi there")
    upcoming = last_prompt(studio.chats, studio.models, chat.id, {"system_prompt": "Be terse."})
    assert "Be terse." in upcoming and "hi there" in upcoming
    list(stream_reply(studio.chats, studio.models, chat.id))
    received = studio.chats.get(chat.id).messages[-1].meta["prompt"]
    assert last_prompt(studio.chats, studio.models, chat.id, {}) == received
    assert "hi there" not in last_prompt(studio.chats, studio.models, chat.id, {}, owner="bob")
