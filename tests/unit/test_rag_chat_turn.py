"""A chat turn over documents, the parts that need neither Weaviate nor a real model: how an answer's sources
are chosen (cited, matched by wording, given), earlier answers going back without [n] markers, the
PreparedTurn hook (a fixed reply never calls the model; `finish` sees the whole continued answer), the
errors a person can cause, and what the Chat tab shows under an answer."""

from __future__ import annotations

import pytest

from engine.chat_turn import NO_MODEL_REPLY, PreparedTurn, stream_reply
from engine.errors import LoragError
from engine.rag.answer import matched, sources, strip_citations
from engine.rag.chat import chat_prepare, prepare_turn
from engine.rag.types import Hit
from engine.settings import Settings
from engine.studio import Studio

GREEDY = {"temperature": 0, "max_new_tokens": 6, "repetition_penalty": 1.5}
FONT = ("A blind text like this gives you information about the selected font, how the letters are written "
        "and an impression of the look.")
CRAZY = "Here's to the crazy ones. The misfits. The rebels. The troublemakers."


def hit(n: int, text: str) -> Hit:
    return Hit(chunk_id=f"c{n}", text=text, filename=f"file{n}.pdf", document_id=f"d{n}", pages=[n + 1],
               section="", score=1.0, similarity=0.6, collection="papers")


HITS = [hit(1, FONT), hit(2, CRAZY)]


def test_cited_sources_come_first():
    found = sources("It is about fonts [2].", HITS)
    assert [(c.n, c.how, c.filename, c.pages) for c in found] == [(2, "cited", "file2.pdf", [3])]


def test_an_answer_that_cites_nothing_is_matched_by_its_wording():
    answer = "The blind text gives you information about the selected font and how the letters are written."
    assert [(c.n, c.how) for c in matched(answer, HITS)] == [(1, "matched")]
    assert [(c.n, c.how) for c in sources(answer, HITS)] == [(1, "matched")]


def test_an_answer_unlike_every_source_shows_all_it_was_given():
    found = sources("Bananas are yellow.", HITS)
    assert [(c.n, c.how) for c in found] == [(1, "given"), (2, "given")]
    assert matched("", HITS) == [] and matched("fonts", HITS) == []


def test_markers_are_stripped_from_earlier_answers():
    assert strip_citations("Fonts matter [1]. Rebels too [2, 3] .") == "Fonts matter. Rebels too."


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_qwen3):
    studio = Studio(Settings(data_dir=tmp_path_factory.mktemp("rag-chat-unit") / "data", no_weaviate=True))
    studio.models.load(str(tiny_qwen3))
    yield studio
    studio.close()


def test_a_fixed_reply_is_saved_without_calling_the_model(studio):
    chat = studio.chats.create(settings={"params": GREEDY})
    studio.chats.append(chat.id, "user", "What about bread?")
    prepared = PreparedTurn(messages=[], meta={"retrieval": {"found": False}, "sources": []},
                            reply="Nothing relevant.")
    events = list(stream_reply(studio.chats, studio.models, chat.id, prepare=lambda messages: prepared))
    assert [e.kind for e in events] == ["answer", "done"]
    last = studio.chats.get(chat.id).messages[-1]
    assert (last.role, last.content) == ("assistant", "Nothing relevant.")
    assert last.meta["finish_reason"] == NO_MODEL_REPLY and last.meta["completion_tokens"] == 0
    assert last.meta["sources"] == [] and last.meta["retrieval"] == {"found": False}
    assert "prompt" not in last.meta   # no prompt went to a model


def test_finish_sees_the_whole_answer_also_when_it_is_continued(studio):
    chat = studio.chats.create(settings={"params": GREEDY})
    studio.chats.append(chat.id, "user", "hi")

    def prepare(messages):
        return PreparedTurn(messages=messages, meta={"kept": True}, finish=lambda text: {"seen": text})

    list(stream_reply(studio.chats, studio.models, chat.id, prepare=prepare))
    first = studio.chats.get(chat.id).messages[-1]
    assert first.meta["seen"] == first.content and first.meta["kept"]
    list(stream_reply(studio.chats, studio.models, chat.id, mode="continue", prepare=prepare))
    continued = studio.chats.get(chat.id).messages[-1]
    assert continued.content.startswith(first.content) and len(continued.content) > len(first.content)
    assert continued.meta["seen"] == continued.content


def test_a_chat_without_a_collection_has_no_hook_and_a_gone_collection_says_so(studio):
    assert chat_prepare(studio.rag, {"collection": ""}) is None
    assert chat_prepare(studio.rag, {}) is None
    hook = chat_prepare(studio.rag, {"collection": "deleted-one", "documents": []})
    with pytest.raises(LoragError, match="collection chosen for this chat no longer exists"):
        hook([{"role": "user", "content": "q"}])
    with pytest.raises(LoragError, match="no longer exists"):
        prepare_turn(studio.rag, [{"role": "user", "content": "q"}], "deleted-one")


def test_what_the_chat_shows_under_an_answer():
    from ui.components.sources import answer_sources, sources_message
    from ui.tabs.chat import assistant_messages

    cited = [c.to_dict() for c in sources("Fonts [1].", HITS)]
    given = [c.to_dict() for c in sources("Bananas.", HITS)]
    assert answer_sources({"sources": cited}) == (cited, "cited")
    assert answer_sources({"sources": given})[1] == "given"
    assert answer_sources({}) == ([], "")
    block = sources_message({"sources": cited})
    assert block["metadata"]["title"] == "Sources: [1] file1.pdf p. 2" and "status" not in block["metadata"]
    assert "**[1]** file1.pdf, p. 2" in block["content"]
    folded = sources_message({"sources": given})
    assert folded["metadata"]["status"] == "done" and "none" in folded["metadata"]["title"]
    shown = assistant_messages("Fonts [1].", "", {"sources": cited, "finish_reason": "eos"})
    assert [m.get("metadata", {}).get("title", "")[:7] for m in shown] == ["", "Sources", "0 token"]
    assert assistant_messages("Fonts [1].", "", {"sources": cited}, streaming=True)[-1]["content"] == "Fonts [1]."


def test_relisting_never_writes_back_an_unchanged_choice(studio):
    """Focus and tab selection re-list the collections; they may race with opening a chat, so they set a value
    only when the one shown is gone."""
    from ui.tabs.chat_documents import ChatDocuments

    docs = ChatDocuments(studio)
    collections, documents = docs.relist(None, "", [])
    assert collections["choices"] == [("none", "")] and "value" not in collections and "value" not in documents
    collections, documents = docs.relist(None, "deleted-one", ["d1"])
    assert collections["value"] == "" and documents["visible"] is False and documents["value"] == []
    chat = studio.chats.create()
    assert docs.save(chat.id, "deleted-one", ["d1"]) == {"collection": "deleted-one", "documents": ["d1"]}
    assert docs.save(chat.id, "", ["d1"]) == {"collection": "", "documents": []}
    assert studio.chats.get(chat.id).settings["documents"] == []
