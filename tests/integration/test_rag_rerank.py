"""The reranking stage against a real Weaviate: off, search returns the hybrid order; on, the cross-encoder's order
over the hybrid candidates; a reranker that is not on disk is refused with what to do."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.rag.context import embedding_text
from engine.rag.rerank import candidates_for
from tests.support.cross_encoder import build_cross_encoder
from tests.support.rag import wait_job

pytestmark = pytest.mark.weaviate

TOPICS = ["harbour", "orchard", "bridge", "library", "market", "river", "mountain", "observatory"]


def notes() -> str:
    return "\n\n".join(f"Note {i}. The {t} ledger of district {i} lists {i * 7} entries about the {t} and its keeper."
                       for i, t in enumerate(TOPICS * 4))


@pytest.fixture
def collection(rag_studio, tmp_path):
    rag = rag_studio.rag
    name = "rerank-notes"
    rag.create_collection(name, chunk_size=120, chunk_overlap=0)
    (tmp_path / "ledgers.txt").write_text(notes())
    job = wait_job(rag_studio, rag.ingest(name, [tmp_path / "ledgers.txt"]).id)
    assert job.result["files"][0]["status"] == "indexed", job.result["files"][0]["error"]
    yield rag, name
    rag.delete_collection(name)


def test_reranking_on_orders_the_candidates_by_the_cross_encoder(collection, tmp_path):
    from sentence_transformers import CrossEncoder

    rag, name = collection
    question = "Which ledger lists the harbour keeper entries?"
    folder = build_cross_encoder(tmp_path / "tiny-reranker", [notes(), question, "ledgers"])
    hybrid = rag.search(name, question, k=5)
    candidates = rag.search(name, question, k=candidates_for(5))
    assert [h.chunk_id for h in hybrid] == [h.chunk_id for h in candidates[:5]]

    current = rag.update_collection(name, rerank=True, reranker=str(folder))
    assert current.settings.rerank
    reranked = rag.search(name, question, k=5)

    model = CrossEncoder(str(folder), device="cpu")
    scores = model.predict([(question, embedding_text("ledgers", h.section, h.text)) for h in candidates])
    expected = [candidates[i].chunk_id for i in sorted(range(len(candidates)), key=lambda i: -scores[i])[:5]]
    assert [h.chunk_id for h in reranked] == expected
    assert [h.chunk_id for h in reranked] != [h.chunk_id for h in hybrid]  # the stage changed something

    rag.update_collection(name, rerank=False)
    assert [h.chunk_id for h in rag.search(name, question, k=5)] == [h.chunk_id for h in hybrid]


def test_a_reranker_that_needs_a_download_is_refused_with_the_way_out(collection):
    rag, name = collection
    with pytest.raises(LoragError, match="needs a download"):
        rag.update_collection(name, rerank=True, reranker="reranker-ms-marco-minilm")
    assert not rag.collection(name).settings.rerank
