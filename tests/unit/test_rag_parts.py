"""The documents service is built from its parts alone (a store, jobs, a Weaviate server, two folders), without
a Studio: the three parts share one collection and one index, and the service answers their names."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.jobs import Jobs
from engine.rag.service import RagService
from engine.store import Store
from engine.weaviate.link import WeaviateLink


@pytest.fixture
def rag(tmp_path, weaviate_server):
    store = Store(tmp_path / "lorag.sqlite")
    service = RagService(store, Jobs(store, tmp_path / "jobs"), WeaviateLink(weaviate_server), tmp_path / "uploads",
                         tmp_path / "models", max_upload_bytes=2**20)
    yield service
    service.close()
    store.close()


def test_rag_service_from_its_parts_indexes_searches_and_cites(rag, tmp_path):
    note = tmp_path / "lighthouse.txt"
    note.write_text("The lighthouse keeper of Skerryvore lit the lamp every evening at dusk. " * 3
                    + "\n\nBread is baked from flour, water, salt and yeast in a hot oven.")
    current = rag.create_collection("parts", owner="ann", shared=False)
    job = rag.jobs.wait(rag.ingest(current, [note]).id, 120)
    assert job.status == "completed", job.message
    assert rag.ingestion.collections is rag.collections is rag.retrieval.collections
    assert rag.collection("parts", viewer="ann").documents == 1
    with pytest.raises(LoragError, match="no collection"):
        rag.collection("parts", viewer="bob")   # private: not there for another person
    hits = rag.search(current, "Who lit the lamp at Skerryvore?", k=2)
    assert hits and "lighthouse keeper" in hits[0].text and hits[0].filename == "lighthouse.txt"
    assert rag.count(current) == rag.collection(current).chunks > 0
    assert rag.source(hits[0].chunk_id, viewer="ann").text == hits[0].text
    assert [c.chunk_id for c in rag.cited("The keeper lit it [1].", hits)] == [hits[0].chunk_id]


def test_upload_limit_is_the_ingestion_parts_and_refuses_big_files(rag, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)
    rag.max_upload_bytes = 2**10
    assert rag.ingestion.max_upload_bytes == 2**10
    rag.create_collection("limits")
    job = rag.jobs.wait(rag.ingest("limits", [big]).id, 60)
    assert job.result["files"][0]["status"] == "failed" and "limit" in job.result["files"][0]["error"]


def test_without_weaviate_documents_are_unavailable(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")
    rag = RagService(store, Jobs(store, tmp_path / "jobs"), WeaviateLink(None), tmp_path / "uploads",
                     tmp_path / "models", max_upload_bytes=2**20)
    assert not rag.available
    with pytest.raises(LoragError, match="turned off"):
        rag.create_collection("nowhere")
    store.close()
