"""Collections and their documents: who sees and changes which, their settings, and the Weaviate index of each.

A collection is a row of the SQLite table `collections` and one Weaviate collection (self-provided vectors, BM25
on the text). Who sees what: `viewer` None means everything (no logins); a user name ('' for the API key) sees
their own collections and the shared ones; another person's private collection is "not there".
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from engine.errors import LoragError, Phrase
from engine.fields import unknown_fields
from engine.jobs import ACTIVE, Job, Jobs
from engine.rag.config import PARSE_STRATEGIES, default_embedding_model, retrieval_defaults
from engine.rag.embed import EmbedderCache, resolve_model
from engine.rag.index import ChunkIndex, WeaviateClients, weaviate_name
from engine.rag.parse import hi_res_available
from engine.rag.rerank import RerankerCache, default_reranker, resolve_reranker
from engine.rag.types import DONE, IN_PROGRESS, Collection, CollectionSettings, Document, IndexInfo
from engine.rag.uploads import UploadStore
from engine.safety import COLLECTION_NAME, validate_name
from engine.store import Store, now
from engine.writes import WriteLock

log = logging.getLogger(__name__)


class Collections:
    def __init__(self, store: Store, jobs: Jobs, clients: WeaviateClients, uploads: UploadStore,
                 embedders: EmbedderCache, rerankers: RerankerCache, writes: WriteLock,
                 consistency: str = "QUORUM") -> None:
        self.store = store
        self.consistency = consistency  # of the replicated collections made from now on
        self.writes = writes  # held while the documents change, so a backup sees SQLite and Weaviate agree
        self.jobs = jobs
        self.clients = clients
        self.uploads = uploads
        self.embedders = embedders
        self.rerankers = rerankers
        self.defaults = retrieval_defaults()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def close(self) -> None:
        self.clients.close()

    # --- the Weaviate index of a collection ---------------------------------------------------------------
    def chunk_index(self, info: IndexInfo) -> ChunkIndex:
        return ChunkIndex(self.clients.get(), info.name, replicas=info.replicas, consistency=info.consistency)

    def index_of(self, collection: Collection) -> ChunkIndex:
        return self.chunk_index(collection.index)

    def default_replicas(self) -> int:
        """Weaviate keeps a new collection on min(3, nodes) nodes (1 on a single server)."""
        return min(3, len(self.clients.get().cluster.nodes()))

    def set_index(self, collection_id: str, info: IndexInfo) -> None:
        """Point the collection at another Weaviate collection (a rebuild for a new embedding model)."""
        row = self.store.one("SELECT settings FROM collections WHERE id = ?", (collection_id,))
        settings = dict(row["settings"])
        settings["index"] = info.__dict__.copy()
        self.store.update("collections", "id", collection_id,
                          {"settings": settings, "needs_reindex": int(settings.get("embedding_model") != info.model)})

    def dimensions(self, model: str) -> int:
        """How long the vectors of an embedding model are (from its preset, else by loading it)."""
        spec = resolve_model(model, self.embedders.models_dir)
        return spec.preset.dimensions or self.embedders.get(model).dimensions

    def collection_lock(self, collection_id: str) -> threading.Lock:
        """Held by the ingestion job that is writing into the collection (jobs of one collection run in turn)."""
        with self._locks_guard:
            return self._locks.setdefault(collection_id, threading.Lock())

    # --- reading ----------------------------------------------------------------------------------------
    def list_collections(self, viewer: str | None = None) -> list[Collection]:
        """The collections `viewer` may see, by name."""
        rows = self.store.all("SELECT * FROM collections ORDER BY name COLLATE NOCASE")
        return [self._collection(row) for row in rows if _visible(row, viewer)]

    def collection(self, name_or_id: str | Collection, viewer: str | None = None) -> Collection:
        """One collection by id or name, as `viewer` sees it; a LoragError when it is not there for them."""
        if isinstance(name_or_id, Collection):
            name_or_id = name_or_id.id
        rows = self.store.all("SELECT * FROM collections WHERE id = ? OR name = ? ORDER BY created_at",
                              (name_or_id, name_or_id))
        rows = [row for row in rows if _visible(row, viewer)]
        if not rows:
            raise LoragError(f"There is no collection {name_or_id!r}.", hint="Create it in the Documents tab.",
                             key="documents.no_collection", hint_key="documents.no_collection_hint",
                             params={"name": repr(name_or_id)})
        # Names are unique per person: an id first, then the viewer's own, then one shared with them.
        return self._collection(min(rows, key=lambda row: (row["id"] != name_or_id, row["owner"] != (viewer or ""))))

    def _collection(self, row: dict[str, Any]) -> Collection:
        stats = self.store.one("SELECT COUNT(*) AS n, COALESCE(SUM(chunks), 0) AS chunks FROM documents "
                               "WHERE collection_id = ? AND status = ?", (row["id"], DONE))
        settings = row["settings"]
        return Collection(id=row["id"], name=row["name"], settings=CollectionSettings.from_dict(settings),
                          index=IndexInfo(**settings["index"]), needs_reindex=bool(row["needs_reindex"]),
                          created_at=row["created_at"], documents=stats["n"], chunks=stats["chunks"],
                          owner=row["owner"], shared=bool(row["shared"]))

    def jobs_for(self, collection: str | Collection | None = None, active_only: bool = False) -> list[Job]:
        """The ingestion jobs of one collection (or of all), newest first."""
        wanted = self.collection(collection).id if collection is not None else None
        out = []
        for job in self.jobs.list("ingest", limit=200):
            if wanted and job.config.get("collection_id") != wanted:
                continue
            if active_only and job.status not in ACTIVE:
                continue
            out.append(job)
        return out

    def refuse_during_rebuild(self, current: Collection, what: str) -> None:
        """A LoragError while the collection is being rebuilt for a new embedding model."""
        if any(job.config.get("rebuild") for job in self.jobs_for(current, active_only=True)):
            raise LoragError(f"The collection {current.name!r} is being rebuilt for its new embedding model: "
                             f"{what} when that job has finished.", hint="Or cancel it.",
                             key="documents.being_rebuilt", hint_key="documents.being_rebuilt_hint",
                             params={"name": current.name, "what": what})

    # --- ownership ----------------------------------------------------------------------------------------
    def _check_name_free(self, name: str, owner: str) -> None:
        """A name may repeat across people, never among the collections one person sees (no logins: everyone
        sees every collection, so names are unique)."""
        rows = self.store.all("SELECT owner, shared FROM collections WHERE name = ?", (name,))
        viewer = owner or None
        if any(_visible(row, viewer) for row in rows):
            raise LoragError(f"A collection named {name!r} exists already.", key="documents.collection_exists",
                             params={"name": repr(name)})

    def check_owner(self, collection: str | Collection, viewer: str | None) -> Collection:
        """The collection, when `viewer` may change it (its owner; anyone for one made without logins)."""
        current = self.collection(collection, viewer=viewer)
        if viewer is not None and current.owner not in ("", viewer):
            raise LoragError(f"The collection {current.name!r} is shared with you by {current.owner}: you can "
                             "search it and ask about it, but only they can change it.",
                             key="documents.shared_read_only", params={"name": current.name, "owner": current.owner})
        return current

    def set_shared(self, collection: str | Collection, shared: bool, viewer: str | None = None) -> Collection:
        """Share the collection with every login, or make it its owner's alone (only the owner may)."""
        current = self.check_owner(collection, viewer)
        self.store.update("collections", "id", current.id, {"shared": int(bool(shared))})
        return self.collection(current.id)

    # --- changing ---------------------------------------------------------------------------------------
    def create_collection(self, name: str, embedding_model: str | None = None, chunk_size: int | None = None,
                          chunk_overlap: int | None = None, parse_strategy: str | None = None, owner: str = "",
                          shared: bool = True) -> Collection:
        """A new, empty collection and its Weaviate collection; settings left out take the defaults."""
        name = validate_name(name, COLLECTION_NAME)
        what = Phrase(f"Creating the collection {name!r}", "error.documents.creating", {"name": name})
        with self.writes.writing(what):
            return self._create_collection(name, embedding_model, chunk_size, chunk_overlap, parse_strategy, owner,
                                           shared)

    def _create_collection(self, name: str, embedding_model: str | None, chunk_size: int | None,
                           chunk_overlap: int | None, parse_strategy: str | None, owner: str,
                           shared: bool) -> Collection:
        self._check_name_free(name, owner)
        settings = self._validated(CollectionSettings(
            embedding_model=embedding_model or default_embedding_model(),
            chunk_size=chunk_size or self.defaults.chunk_size,
            chunk_overlap=self.defaults.chunk_overlap if chunk_overlap is None else chunk_overlap,
            parse_strategy=parse_strategy or self.defaults.parse_strategy))
        collection_id = uuid.uuid4().hex[:12]
        info = IndexInfo(name=weaviate_name(collection_id, 1), model=settings.embedding_model,
                         dimensions=self.dimensions(settings.embedding_model), replicas=self.default_replicas(),
                         consistency=self.consistency)
        self.chunk_index(info).create()
        self.store.insert("collections", {"id": collection_id, "name": name, "owner": owner, "shared": int(shared),
                                          "settings": {**settings.to_dict(), "index": info.__dict__.copy()},
                                          "needs_reindex": 0, "created_at": now()})
        log.info("created collection %s (%s)", name, info.name)
        return self.collection(collection_id)

    def _validated(self, settings: CollectionSettings) -> CollectionSettings:
        resolve_model(settings.embedding_model, self.embedders.models_dir)  # raises when not on disk
        if settings.rerank:
            resolve_reranker(settings.reranker or default_reranker(), self.rerankers.models_dir)
        if settings.parse_strategy not in PARSE_STRATEGIES:
            raise LoragError(f"Unknown parse strategy {settings.parse_strategy!r}.",
                             hint=f"Use one of: {', '.join(PARSE_STRATEGIES)}.",
                             key="documents.unknown_parse_strategy", hint_key="documents.unknown_parse_strategy_hint",
                             params={"strategy": settings.parse_strategy, "strategies": ', '.join(PARSE_STRATEGIES)})
        if settings.parse_strategy == "hi_res" and not hi_res_available():
            raise LoragError("The hi_res strategy needs unstructured's layout model (yolo_x_layout) and poppler, "
                             "which are not on this machine.", hint="Use fast (or auto).",
                             key="documents.no_hi_res", hint_key="documents.no_hi_res_hint")
        if not 100 <= int(settings.chunk_size) <= 8000:
            raise LoragError(f"The chunk size must be between 100 and 8000 characters, not {settings.chunk_size}.",
                             key="documents.chunk_size", params={"size": settings.chunk_size})
        if not 0 <= int(settings.chunk_overlap) <= int(settings.chunk_size) // 2:
            raise LoragError(f"The overlap must be between 0 and half the chunk size, not {settings.chunk_overlap}.",
                             key="documents.overlap", params={"overlap": settings.chunk_overlap})
        settings.chunk_size, settings.chunk_overlap = int(settings.chunk_size), int(settings.chunk_overlap)
        return settings

    def rename_collection(self, name_or_id: str, new_name: str) -> Collection:
        current = self.collection(name_or_id)
        new_name = validate_name(new_name, COLLECTION_NAME)
        if new_name != current.name:
            self._check_name_free(new_name, current.owner)
        self.store.update("collections", "id", current.id, {"name": new_name})
        return self.collection(current.id)

    def update_collection(self, name_or_id: str, **changes: Any) -> Collection:
        """Change settings; a new embedding model marks the collection needs-reindex (vectors never mix)."""
        current = self.collection(name_or_id)
        unknown = unknown_fields(CollectionSettings, changes)
        if unknown:
            raise LoragError(f"Unknown collection setting(s): {', '.join(unknown)}.",
                             key="documents.unknown_settings", params={"unknown": ', '.join(unknown)})
        merged = self._validated(CollectionSettings.from_dict({**current.settings.to_dict(), **changes}))
        settings = {**merged.to_dict(), "index": current.index.__dict__.copy()}
        self.store.update("collections", "id", current.id,
                          {"settings": settings, "needs_reindex": int(merged.embedding_model != current.index.model)})
        return self.collection(current.id)

    def delete_collection(self, name_or_id: str) -> None:
        """The collection, its Weaviate collection and the stored files no other collection uses."""
        current = self.collection(name_or_id)
        if self.jobs_for(current, active_only=True):
            raise LoragError(f"The collection {current.name!r} is being indexed.", hint="Cancel that job first.",
                             key="documents.being_indexed", hint_key="documents.cancel_first",
                             params={"name": repr(current.name)})
        what = Phrase(f"Deleting the collection {current.name!r}", "error.documents.deleting_collection",
                      {"name": current.name})
        with self.writes.writing(what):
            docs = self.documents(current)
            self.index_of(current).drop()
            self.store.execute("DELETE FROM collections WHERE id = ?", (current.id,))
            for doc in docs:
                self._remove_upload_if_unused(doc)

    # --- documents --------------------------------------------------------------------------------------
    def documents(self, collection: str | Collection) -> list[Document]:
        current = self.collection(collection)
        rows = self.store.all("SELECT * FROM documents WHERE collection_id = ? ORDER BY created_at, filename",
                              (current.id,))
        return [Document(**row) for row in rows]

    def document(self, document_id: str) -> Document:
        row = self.store.one("SELECT * FROM documents WHERE id = ?", (document_id,))
        if row is None:
            raise LoragError(f"There is no document {document_id!r}.",
                             key="documents.no_document", params={"document_id": document_id})
        return Document(**row)

    def delete_document(self, collection: str | Collection, document_id: str) -> None:
        """The document's objects in Weaviate, its row, and its stored file when nothing else uses it."""
        current = self.collection(collection)
        self.refuse_during_rebuild(current, Phrase("delete documents", "error.documents.delete_documents"))
        doc = self.document(document_id)
        if doc.collection_id != current.id:
            raise LoragError(f"The document {doc.filename!r} is not in the collection {current.name!r}.",
                             key="documents.not_in_collection", params={"filename": doc.filename, "name": current.name})
        if doc.status in IN_PROGRESS and (doc.meta.get("job") in {j.id for j in self.jobs_for(current, True)}):
            raise LoragError(f"{doc.filename} is being indexed right now.", hint="Cancel the job first.",
                             key="documents.document_being_indexed", hint_key="documents.cancel_the_job_first",
                             params={"name": doc.filename})
        what = Phrase(f"Deleting {doc.filename}", "error.documents.deleting", {"filename": doc.filename})
        with self.writes.writing(what):
            self.index_of(current).delete_document(doc.id)
            self.store.execute("DELETE FROM documents WHERE id = ?", (doc.id,))
            self._remove_upload_if_unused(doc)

    def _remove_upload_if_unused(self, doc: Document) -> None:
        if self.store.one("SELECT id FROM documents WHERE sha256 = ?", (doc.sha256,)) is None and doc.path:
            self.uploads.remove(doc.sha256, doc.path.suffix)

    def count(self, collection: str | Collection, document_id: str | None = None) -> int:
        """Objects in Weaviate for the collection (or one of its documents)."""
        return self.index_of(self.collection(collection)).count(document_id)


def _visible(row: dict[str, Any], viewer: str | None) -> bool:
    return viewer is None or bool(row["shared"]) or row["owner"] == viewer
