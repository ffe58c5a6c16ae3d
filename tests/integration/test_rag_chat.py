"""Chat over documents end to end in the engine: the Qwen3 technical report in a real Weaviate, the real
SmolLM2 answering through engine.chat_turn.stream_reply with the collection chosen in the chat's settings
(the same hook the Chat tab uses). Sources are saved with the reply, the model's prompt holds the numbered
sources, only the current turn carries passages, and a question the documents cannot answer is answered
without the model."""

from __future__ import annotations

import re

import pytest

from engine.chat_turn import NO_MODEL_REPLY, stream_reply
from engine.errors import LoragError
from engine.rag.answer import CITATION_RE, NOTHING_FOUND, RULES
from engine.rag.chat import chat_prepare, prepare_turn

pytestmark = [pytest.mark.weaviate, pytest.mark.slow]
REPORT = "Qwen3_Technical_Report.pdf"
PARAMS = {"temperature": 0, "max_new_tokens": 32, "repetition_penalty": 1.1}


@pytest.fixture(scope="module")
def studio(qwen3_indexed, smollm2_dir):
    studio, _ = qwen3_indexed
    studio.models.load(str(smollm2_dir))
    yield studio
    studio.models.unload()


def turn(studio, chat_id: str, question: str):
    """Ask as the Chat tab does: the hook comes from the chat's saved settings."""
    studio.chats.append(chat_id, "user", question)
    settings = studio.chats.get(chat_id).settings
    list(stream_reply(studio.chats, studio.models, chat_id, prepare=chat_prepare(studio.rag, settings)))
    return studio.chats.get(chat_id).messages[-1]


def test_a_chat_over_the_report_saves_sources_and_keeps_passages_out_of_the_history(studio):
    collection = studio.rag.collection("qwen3")
    chat = studio.chats.create(settings={"params": PARAMS, "collection": collection.id, "documents": []})

    first = turn(studio, chat.id, "How many distinct tasks does the General RL reward system cover?")
    given = first.meta["retrieval"]["given"]
    assert first.role == "assistant" and first.content.strip()
    assert first.meta["retrieval"]["collection"] == "qwen3" and first.meta["retrieval"]["found"]
    assert any(12 in g["pages"] for g in given), given          # the page that answers it was retrieved
    # The model got the numbered sources, with file and page, and the rules.
    prompt = first.meta["prompt"]
    assert RULES in prompt and "Sources:\n\n[1] (Qwen3_Technical_Report.pdf, p" in prompt
    assert all(f"[{g['n']}] ({REPORT}, p" in prompt for g in given)
    # Saved with the reply: the sources, with file name and pages, as they relate to the answer.
    sources = first.meta["sources"]
    assert sources and all(s["filename"] == REPORT and s["pages"] and s["snippet"] for s in sources)
    assert {s["chunk_id"] for s in sources} <= {g["chunk_id"] for g in given}
    how = {s["how"] for s in sources}
    assert len(how) == 1
    if how == {"cited"}:
        assert all(f"[{s['n']}" in first.content for s in sources)
    elif how == {"given"}:
        assert sources == given and not CITATION_RE.search(first.content)

    second = turn(studio, chat.id, "Which model was used for text recognition on PDF-like documents?")
    again = second.meta["retrieval"]["given"]
    assert any(4 in g["pages"] for g in again), again
    prompt2 = second.meta["prompt"]
    assert prompt2.count("Sources:") == 1
    assert "How many distinct tasks does the General RL reward system cover?" in prompt2
    assert CITATION_RE.sub("", first.content).strip()[:40] in prompt2          # the answer, without [n]
    new = {g["chunk_id"] for g in again}
    for old in (g for g in given if g["chunk_id"] not in new):                 # turn one's passages are gone
        words = " ".join(old["snippet"].split()[:12])
        assert words not in " ".join(prompt2.split()), old["pages"]


def test_a_question_the_documents_do_not_answer_is_answered_without_the_model(studio):
    chat = studio.chats.create(settings={"params": PARAMS, "collection": "qwen3"})
    reply = turn(studio, chat.id, "What is a good recipe for banana bread with walnuts?")
    assert reply.content == NOTHING_FOUND.format(collection="qwen3")
    assert reply.meta["sources"] == [] and reply.meta["retrieval"]["found"] is False
    assert reply.meta["finish_reason"] == NO_MODEL_REPLY and reply.meta["completion_tokens"] == 0
    assert "prompt" not in reply.meta


def test_the_document_filter_and_its_errors(studio):
    (doc,) = studio.rag.documents("qwen3")
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What does the thinking mode do?"}]
    prepared = prepare_turn(studio.rag, messages, "qwen3", document_ids=[doc.id])
    assert prepared.reply is None and prepared.meta["retrieval"]["documents"] == [doc.id]
    assert prepared.messages[0]["content"].startswith("Be brief.") and RULES in prepared.messages[0]["content"]
    assert re.match(r"Sources:\n\n\[1\] \(Qwen3_Technical_Report\.pdf, pp?\. \d", prepared.messages[-1]["content"])
    with pytest.raises(LoragError, match="None of the documents chosen"):
        prepare_turn(studio.rag, messages, "qwen3", document_ids=["gone"])
