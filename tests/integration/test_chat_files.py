"""Files dropped into a chat (engine.rag.chat_files) against a real Weaviate with real PDFs: the chat's own
collection is made on the first drop and reused by the next, the files are indexed and found, the chat's next
turn retrieves from them, a file that cannot be indexed is said in words, and with logins the collection is
its owner's and private."""

from __future__ import annotations

import pytest

from engine.access import AccessPlan
from engine.rag import chat_files
from engine.rag.chat_files import OWN_COLLECTION, asks_question, attach, cancel, files_state, follow, to_answer
from tests.conftest import need_shared
from tests.support.rag import wait_job

pytestmark = pytest.mark.weaviate


def pdf(name: str):
    return need_shared("pdfs", name)


def settle(studio, chat_id: str) -> None:
    for _ in follow(studio, chat_id, every=0.2):
        pass


def test_the_first_drop_makes_the_chats_collection_and_the_next_reuses_it(rag_studio):
    studio = rag_studio
    chat = studio.chats.create()
    first = attach(studio, chat.id, "What does the blind text tell?", [pdf("pdflatex-4-pages.pdf")])
    assert first.collection.name == "chat-What-does-the-blind-text-tell"
    assert first.collection.owner == "" and first.collection.shared
    assert wait_job(studio, first.job.id).status == "completed"
    settle(studio, chat.id)

    saved = studio.chats.get(chat.id)
    assert saved.title == "What does the blind text tell?"
    assert saved.settings["collection"] == first.collection.id == saved.settings[OWN_COLLECTION]
    assert saved.settings["documents"] == []
    assert first.collection.name in [c.name for c in studio.rag.list_collections()]   # the Documents tab lists it
    state = files_state(studio.jobs, saved.messages[-1].meta)
    assert state.title == f"Indexed pdflatex-4-pages.pdf into {first.collection.name}" and not state.active
    assert state.lines[0].startswith("pdflatex-4-pages.pdf: indexed, 4 page(s), ")
    assert any("blind text" in hit.text for hit in studio.rag.search(first.collection.id, "blind text"))

    # The next turn retrieves from the dropped file (the Chat tab's prepare hook, from the chat's settings).
    turn = studio.rag.chat_turn(studio.chats.history(chat.id), saved.settings["collection"])
    given = turn.meta["retrieval"]["given"]
    assert given and {g["filename"] for g in given} == {"pdflatex-4-pages.pdf"}

    # A drop of a file alone: the same collection, no question to answer, nothing of it sent to the model.
    second = attach(studio, chat.id, "", [pdf("crazyones-pdfa.pdf")])
    assert second.collection.id == first.collection.id
    assert not asks_question(studio.chats.get(chat.id))
    assert len(studio.chats.history(chat.id)) == 1
    wait_job(studio, second.job.id)
    settle(studio, chat.id)
    assert sorted(d.filename for d in studio.rag.documents(first.collection.id)) == [
        "crazyones-pdfa.pdf", "pdflatex-4-pages.pdf"]
    assert studio.rag.collection(first.collection.id).documents == 2

    # Deleted in the Documents tab: the next drop makes a new one (the old name is free again).
    studio.rag.delete_collection(first.collection.id)
    third = attach(studio, chat.id, "", [pdf("minimal-document.pdf")])
    assert third.collection.id != first.collection.id and third.collection.name == first.collection.name
    wait_job(studio, third.job.id)
    studio.rag.delete_collection(third.collection.id)


def test_names_are_unique_and_a_file_that_cannot_be_indexed_is_said_in_words(rag_studio, tmp_path):
    studio = rag_studio
    taken = studio.rag.create_collection("chat-Notes")
    chat = studio.chats.create(title="Notes", settings={"collection": taken.id, "documents": ["x"]})
    broken = tmp_path / "report.pdf"
    broken.write_text("this is not a PDF at all", encoding="utf-8")
    attached = attach(studio, chat.id, "What is in it?", [broken])
    assert attached.collection.name == "chat-Notes-2"
    assert studio.chats.get(chat.id).settings["collection"] == attached.collection.id
    wait_job(studio, attached.job.id)
    settle(studio, chat.id)

    saved = studio.chats.get(chat.id)
    state = files_state(studio.jobs, saved.messages[-1].meta)
    assert state.failed and state.title.startswith("Not indexed: report.pdf: the name says PDF but the content")
    assert state.lines == [f"report.pdf: not indexed. {wait_job(studio, attached.job.id).result['files'][0]['error']}"]
    # Nothing of the drop made it: the chat has its earlier collection back and the question still counts.
    assert saved.settings["collection"] == taken.id and saved.settings["documents"] == ["x"]
    assert asks_question(saved)
    for collection in (attached.collection, taken):
        studio.rag.delete_collection(collection.id)


def test_stop_cancels_the_indexing_and_the_answer(rag_studio):
    studio = rag_studio
    chat = studio.chats.create()
    attached = attach(studio, chat.id, "What is Qwen3?", [pdf("Qwen3_Technical_Report.pdf")])
    assert to_answer(studio, studio.chats.get(chat.id))
    assert cancel(studio, chat.id) == [attached.job.id]
    assert wait_job(studio, attached.job.id).status == "cancelled"
    settle(studio, chat.id)
    saved = studio.chats.get(chat.id)
    state = files_state(studio.jobs, saved.messages[-1].meta)
    assert state.title == "Indexing cancelled: Qwen3_Technical_Report.pdf" and state.failed
    assert asks_question(saved) and not to_answer(studio, saved)      # stopped: the question is not answered
    assert saved.settings["collection"] == "" and studio.rag.collection(attached.collection.id).documents == 0
    assert cancel(studio, chat.id) == []
    studio.rag.delete_collection(attached.collection.id)


def test_with_logins_the_chats_collection_is_its_owners_and_private(rag_studio):
    studio = rag_studio
    plan = studio.access
    studio.access = AccessPlan(users={"alice": "a", "bob": "b"})
    try:
        chat = studio.chats.create(owner="alice")
        attached = attach(studio, chat.id, "Papers", [pdf("minimal-document.pdf")], owner="alice")
        assert attached.collection.owner == "alice" and not attached.collection.shared
        wait_job(studio, attached.job.id)
        assert attached.collection.id in [c.id for c in studio.rag.list_collections(viewer="alice")]
        assert attached.collection.id not in [c.id for c in studio.rag.list_collections(viewer="bob")]
        # Bob's chat of the same title gets his own collection under the same name.
        bobs = attach(studio, studio.chats.create(owner="bob").id, "Papers", [pdf("minimal-document.pdf")],
                      owner="bob")
        assert bobs.collection.name == attached.collection.name and bobs.collection.id != attached.collection.id
        wait_job(studio, bobs.job.id)
        for collection in (attached.collection, bobs.collection):
            studio.rag.delete_collection(collection.id)
    finally:
        studio.access = plan


def test_collection_names_follow_the_title():
    assert chat_files.collection_name("Über den Fluss: 2 Berichte!") == "chat-Uber-den-Fluss-2-Berichte"
    assert chat_files.collection_name("???") == "chat-files"
    assert len(chat_files.collection_name("x" * 200)) == chat_files.NAME_LENGTH
