"""The Qwen3 technical report (35 pages) in a real Weaviate: pages kept, page-accurate retrieval, idempotent
re-upload, a real model answering with citations, and the index surviving a Weaviate restart.

The report is ingested once per session (fixture `qwen3_indexed`)."""

from __future__ import annotations

import pytest

from tests.conftest import need_shared
from tests.support.rag import TransformersChat, files_by_name, wait_job

pytestmark = pytest.mark.weaviate
REPORT = "Qwen3_Technical_Report.pdf"

# (page, a distinctive phrase from that page)
PHRASES = [
    (4, "Qwen2.5-VL model to perform text recognition on a large volume of PDF-like documents"),
    (12, "reward system covering over 20 distinct tasks, each with customized scoring criteria"),
    (21, "distillation achieves significantly better performance than reinforcement learning while requiring "
         "approximately only 1/10 of the GPU hours"),
]


def test_report_ingests_with_page_numbers(qwen3_indexed):
    studio, job = qwen3_indexed
    assert job.status == "completed", job.message
    entry = files_by_name(job)[REPORT]
    assert entry["status"] == "indexed" and entry["pages"] == 35 and entry["chunks"] > 50
    assert set(entry["timings"]) == {"parse_s", "embed_s", "store_s"}
    (doc,) = studio.rag.documents("qwen3")
    assert (doc.status, doc.pages, doc.chunks, doc.error) == ("indexed", 35, entry["chunks"], "")
    assert studio.rag.count("qwen3") == doc.chunks
    hits = studio.rag.search("qwen3", "Qwen3 model architecture", k=50, alpha=0.5)
    assert all(h.pages and set(h.pages) <= set(range(1, 36)) for h in hits)
    assert any(h.section for h in hits)


@pytest.mark.parametrize("page, phrase", PHRASES)
def test_phrase_from_page_n_finds_a_chunk_spanning_page_n_in_the_top_3(qwen3_indexed, page, phrase):
    studio, _ = qwen3_indexed
    hits = studio.rag.search("qwen3", phrase, k=3)
    assert any(page in h.pages for h in hits), [(h.pages, h.score, h.text[:60]) for h in hits]
    assert hits[0].filename == REPORT and hits[0].score >= hits[-1].score


def test_search_can_be_limited_to_documents(qwen3_indexed):
    studio, _ = qwen3_indexed
    (doc,) = studio.rag.documents("qwen3")
    assert studio.rag.search("qwen3", "thinking mode", k=2, document_ids=[doc.id])
    assert studio.rag.search("qwen3", "thinking mode", k=2, document_ids=["not-a-document"]) == []


def test_uploading_the_report_again_adds_nothing(qwen3_indexed):
    studio, _ = qwen3_indexed
    before = studio.rag.count("qwen3")
    job = wait_job(studio, studio.rag.ingest("qwen3", [need_shared("pdfs", REPORT)]).id)
    assert files_by_name(job)[REPORT]["status"] == "skipped"
    assert studio.rag.count("qwen3") == before
    assert len(studio.rag.documents("qwen3")) == 1


def test_source_opens_the_chunk_with_its_rendered_page(qwen3_indexed):
    studio, _ = qwen3_indexed
    page, phrase = PHRASES[1]
    hit = next(h for h in studio.rag.search("qwen3", phrase, k=3) if page in h.pages)
    source = studio.rag.source(hit.chunk_id)
    assert source.text in hit.text and source.filename == REPORT and page in source.pages  # a hit is its page's chunks
    assert source.page_images and all(p.exists() and p.stat().st_size > 10_000 for p in source.page_images)
    assert source.page_images[source.pages.index(page)].name == f"{page}.png"


@pytest.mark.slow
def test_real_model_answers_from_numbered_sources(qwen3_indexed, smollm2_dir):
    studio, _ = qwen3_indexed
    chat = TransformersChat(smollm2_dir, max_new_tokens=40)
    stream = studio.rag.answer_stream("How many distinct tasks does the General RL reward system cover?", "qwen3",
                                      chat, k=3)
    pieces = list(stream)
    assert chat.calls == 1 and len(pieces) > 1 and stream.text.strip()
    assert stream.hits and any(12 in h.pages for h in stream.hits)
    prompt = stream.messages[-1]["content"]
    assert prompt.startswith("Sources:") and f"[1] ({REPORT}, p" in prompt
    assert {c.chunk_id for c in stream.citations} <= {h.chunk_id for h in stream.hits}
    # What the model wrote decides the citations: they are exactly the [n] markers of its text.
    assert stream.citations == studio.rag.cited(stream.text, stream.hits)

    unrelated = studio.rag.answer_stream("What is a good recipe for banana bread with walnuts?", "qwen3", chat, k=3)
    text = "".join(unrelated)
    assert chat.calls == 1, "the model must not be called when nothing relevant was found"
    assert "could not find anything relevant" in text and unrelated.citations == []


def test_index_survives_a_weaviate_restart(qwen3_indexed):
    studio, _ = qwen3_indexed
    before = studio.rag.count("qwen3")
    top = studio.rag.search("qwen3", PHRASES[0][1], k=3)
    old_pid = studio.weaviate.process.pid
    studio.restart_weaviate()
    assert studio.weaviate.process.pid != old_pid
    assert studio.rag.count("qwen3") == before  # the service reconnected by itself
    again = studio.rag.search("qwen3", PHRASES[0][1], k=3)
    assert [h.chunk_id for h in again] == [h.chunk_id for h in top]
