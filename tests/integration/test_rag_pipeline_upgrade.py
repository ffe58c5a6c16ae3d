"""A collection indexed by an older pipeline (no titles, no page offsets, other chunk texts and more chunks) is
re-indexed by today's: every old chunk is replaced or removed, none doubled, and the index gains the new properties."""

from __future__ import annotations

import pytest

from engine.rag.index import PAGE_STARTS, TITLE, chunk_uuid
from tests.conftest import need_shared
from tests.support.rag import wait_job

pytestmark = pytest.mark.weaviate
OLD_CHUNKS = 400


def old_schema(index) -> None:
    """The Weaviate collection as the first pipeline made it: text and metadata, no title, no page offsets."""
    from weaviate.classes.config import Configure, DataType, Property, Tokenization

    index.drop()
    index.client.collections.create(index.name, vector_config=Configure.Vectors.self_provided(), properties=[
        Property(name="text", data_type=DataType.TEXT, tokenization=Tokenization.WORD),
        Property(name="document_id", data_type=DataType.TEXT, tokenization=Tokenization.FIELD),
        Property(name="filename", data_type=DataType.TEXT), Property(name="section", data_type=DataType.TEXT),
        Property(name="pages", data_type=DataType.INT_ARRAY), Property(name="chunk_index", data_type=DataType.INT),
        Property(name="embedding_model", data_type=DataType.TEXT)])


def test_reindexing_an_old_pipelines_chunks_replaces_them_without_doubles(rag_studio):
    rag = rag_studio.rag
    name = "pipeline-upgrade"
    pdf = need_shared("pdfs", "Qwen3_Technical_Report.pdf")
    current = rag.create_collection(name)
    job = wait_job(rag_studio, rag.ingest(name, [pdf]).id, timeout=900)
    doc = rag.documents(name)[0]
    assert job.result["files"][0]["status"] == "indexed" and doc.chunks < OLD_CHUNKS

    index = rag.index_of(current)
    old_schema(index)
    vector = [0.0] * (current.index.dimensions - 1) + [1.0]
    report = index.insert([{"uuid": chunk_uuid(doc.sha256, i, current.index.model), "vector": vector,
                            "properties": {"text": f"old pipeline text {i}", "document_id": doc.id,
                                           "filename": doc.filename, "section": "", "pages": [1], "chunk_index": i,
                                           "embedding_model": current.index.model}} for i in range(OLD_CHUNKS)])
    assert not report.failed and index.count() == OLD_CHUNKS
    assert not index.has_titles()

    job = wait_job(rag_studio, rag.reindex(name).id, timeout=900)
    assert job.result["files"][0]["status"] == "indexed", job.result["files"][0]["error"]
    fresh = rag.documents(name)[0]
    assert index.count() == fresh.chunks == doc.chunks  # the tail past today's chunk count is gone
    texts = [o.properties for o in index._collection.iterator(return_properties=["text", TITLE, PAGE_STARTS])]
    assert not [p for p in texts if p["text"].startswith("old pipeline text")]
    assert all(p[TITLE] == "Qwen3 Technical Report" for p in texts)
    assert index.has_titles()
    hits = rag.search(name, "Qwen3 Technical Report thinking budget", k=3)
    assert hits and all(h.filename == pdf.name for h in hits)
    rag.delete_collection(name)
