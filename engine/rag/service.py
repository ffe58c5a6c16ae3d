"""RagService (`studio.rag`): one name for the three parts of the documents, each a module of its own.

- `collections` (engine.rag.collections.Collections): collections, who owns and sees them, their documents;
- `ingestion` (engine.rag.ingestion.Ingestion): upload and re-index jobs;
- `retrieval` (engine.rag.retrieval.Retrieval): hybrid search, grounded answers, citations, sources.

Callers use the parts' methods under their own names (`studio.rag.search(...)`, `studio.rag.ingest(...)`); each
method's docstring is its contract. The service is built from its parts' dependencies alone: the SQLite store,
the jobs, a Weaviate link and two folders (no Studio needed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.jobs import Jobs
from engine.rag.collections import Collections
from engine.rag.embed import EmbedderCache
from engine.rag.index import WeaviateClients
from engine.rag.ingestion import FileInput, Ingestion
from engine.rag.rerank import RerankerCache
from engine.rag.retrieval import Retrieval
from engine.rag.uploads import UploadStore
from engine.store import Store
from engine.weaviate.link import WeaviateLink
from engine.writes import WriteLock

__all__ = ["FileInput", "RagService"]


class _Part:
    """An attribute of one of the service's parts, read (and set) under the same name on the service."""

    def __init__(self, part: str, name: str) -> None:
        self.part, self.name = part, name

    def __get__(self, service: Any, owner: type | None = None) -> Any:
        if service is None:
            return self
        return getattr(getattr(service, self.part), self.name)

    def __set__(self, service: Any, value: Any) -> None:
        setattr(getattr(service, self.part), self.name, value)


class RagService:
    def __init__(self, store: Store, jobs: Jobs, weaviate: WeaviateLink, uploads_dir: Path, models_dir: Path,
                 max_upload_bytes: int, writes: WriteLock | None = None, consistency: str = "QUORUM") -> None:
        """`writes`: the data folder's document-write lock (engine.writes; default: writes.lock beside uploads).
        `consistency`: the level new replicated collections read and write at (ONE, QUORUM, ALL)."""
        self.weaviate = weaviate
        clients = WeaviateClients(weaviate.endpoint, weaviate.identity)
        writes = writes or WriteLock(Path(uploads_dir).parent / "writes.lock")
        self.collections = Collections(store, jobs, clients, UploadStore(uploads_dir), EmbedderCache(models_dir),
                                       RerankerCache(models_dir), writes, consistency)
        self.ingestion = Ingestion(self.collections, jobs, max_upload_bytes)
        self.retrieval = Retrieval(self.collections)

    @property
    def available(self) -> bool:
        """False when the studio runs without Weaviate (--no-weaviate): no collections at all."""
        return self.weaviate.available

    def close(self) -> None:
        self.collections.close()


# Which part answers which name (the names callers used before the service was split).
PARTS = {
    "collections": ("store", "jobs", "clients", "uploads", "embedders", "rerankers", "defaults", "chunk_index",
                    "index_of", "set_index", "dimensions", "collection_lock", "list_collections", "collection",
                    "check_owner", "set_shared", "create_collection", "rename_collection", "update_collection",
                    "delete_collection", "documents", "document", "delete_document", "count", "jobs_for"),
    "ingestion": ("max_upload_bytes", "ingest", "reindex", "cancel", "mark_interrupted",
                  "purge_interrupted"),
    "retrieval": ("search", "build_messages", "cited", "min_similarity", "answer_stream", "ground", "chat_turn",
                  "source"),
}
for _part, _names in PARTS.items():
    for _name in _names:
        setattr(RagService, _name, _Part(_part, _name))
