"""RagService (`studio.rag`): collections, ingestion jobs, documents, hybrid search, grounded answers.

Contract (other areas code against these names):

Collections (SQLite table `collections`; each one a Weaviate collection with self-provided vectors and
BM25 on the text):
    list_collections(viewer=None) -> list[Collection]
    collection(name_or_id, viewer=None) -> Collection
    create_collection(name, embedding_model=None, chunk_size=None, chunk_overlap=None, parse_strategy=None,
                      owner="", shared=True)
    set_shared(name_or_id, shared, viewer=None) -> Collection
    check_owner(collection, viewer) -> None     (only its owner changes a collection; '' owned ones: anyone)
  Who sees what: `viewer` None means everything (no logins); a user name (or '' for the API key) sees their own
  collections and the shared ones; another person's private collection is "not there".
    rename_collection(name_or_id, new_name) -> Collection
    update_collection(name_or_id, **settings) -> Collection    (a new embedding model marks it needs-reindex)
    delete_collection(name_or_id) -> None                       (its Weaviate collection and uploads too)

Ingestion (a job per upload, in the studio process):
    ingest(collection, files, password="") -> Job   files: paths (the file name is the path's name) or
                                                   (file name, path) pairs. Per-file progress in
                                                   job.result["files"] (see engine.rag.ingest.FileTask).
    reindex(collection, document_ids=None, password="") -> Job   all documents, or some; after a model
                                                   change: a rebuild into a new index, swapped in at the end
    cancel(job_id) -> Job;  jobs(collection=None, active_only=False) -> list[Job]

Documents:
    documents(collection) -> list[Document];  document(document_id) -> Document
    delete_document(collection, document_id) -> None (its objects in Weaviate and its stored file)
    count(collection, document_id=None) -> int (objects in Weaviate)

Retrieval and answers:
    search(collection, query, k=None, alpha=None, document_ids=None) -> list[Hit]   (hybrid inside Weaviate)
    build_messages(question, hits, history=None, system=None) -> list[dict]
    cited(answer_text, hits) -> list[Citation]
    source(chunk_id, collection=None) -> Source (chunk text, file, pages, rendered page images; looks in the
                                               named collection first, then in the others: renamed is fine)
    answer_stream(question, collection, generate, k=None, alpha=None, document_ids=None, history=None,
                  system=None, min_similarity=None) -> AnswerStream
        iterate it for text pieces from generate(messages); then .citations / .hits / .result().
        When no chunk reaches the model's min_similarity, generate is not called and the stream says so.
    ground(question, collection, k=None, alpha=None, document_ids=None, history=None, system=None,
           min_similarity=None) -> Grounding   (retrieval + relevance floor + grounded messages, no generation)
    chat_turn(messages, collection, document_ids=None, k=None, alpha=None) -> engine.chats.PreparedTurn
        one chat turn over documents, for engine.chats.stream_reply's prepare hook and the API (engine.rag.chat):
        .messages for the model (only this turn carries passages), .reply (the fixed "nothing relevant" answer,
        or None), .meta (what was retrieved), .finish(answer_text) -> {"sources": [...]} to save with the reply.

Weaviate: one client per RagService (engine.weaviate.connect(studio.weaviate_endpoint())), reconnected
when the managed server was restarted.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from engine.errors import LoragError
from engine.jobs import ACTIVE, Job
from engine.rag import answer as answers
from engine.rag.config import PARSE_STRATEGIES, default_embedding_model, embedding_preset, retrieval_defaults
from engine.rag.embed import EmbedderCache, resolve_model
from engine.rag.index import ChunkIndex, WeaviateClients, weaviate_name
from engine.rag.ingest import FileTask, IngestRun
from engine.rag.parse import KINDS, check_file, hi_res_available
from engine.rag.passage import passage_page
from engine.rag.rerank import RerankerCache, candidates_for, default_reranker, reranked, resolve_reranker
from engine.rag.types import (
    DONE,
    IN_PROGRESS,
    Citation,
    Collection,
    CollectionSettings,
    Document,
    Hit,
    IndexInfo,
    Source,
)
from engine.rag.uploads import UploadStore, read_head, sha256_file
from engine.safety import safe_filename, validate_name
from engine.store import now

if TYPE_CHECKING:
    from engine.chats import PreparedTurn
    from engine.studio import Studio

log = logging.getLogger(__name__)

FileInput = str | Path | tuple[str, str | Path]


class RagService:
    def __init__(self, studio: "Studio") -> None:
        self.studio = studio
        self.store = studio.store
        self.jobs = studio.jobs
        self.defaults = retrieval_defaults()
        self.uploads = UploadStore(studio.settings.path("uploads"))
        self.embedders = EmbedderCache(studio.settings.path("models"))
        self.rerankers = RerankerCache(studio.settings.path("models"))
        self.max_upload_bytes = int(studio.settings.max_upload_mb) * 2**20
        self.clients = WeaviateClients(studio.weaviate_endpoint, self._server_identity)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._mark_interrupted()

    def collection_lock(self, collection_id: str) -> threading.Lock:
        """Held by the ingestion job that is writing into the collection (jobs of one collection run in turn)."""
        with self._locks_guard:
            return self._locks.setdefault(collection_id, threading.Lock())

    def _refuse_during_rebuild(self, current: Collection, what: str) -> None:
        if any(job.config.get("rebuild") for job in self.jobs_for(current, active_only=True)):
            raise LoragError(f"The collection {current.name!r} is being rebuilt for its new embedding model: "
                             f"{what} when that job has finished.", hint="Or cancel it.")

    def close(self) -> None:
        self.clients.close()

    # --- Weaviate ---------------------------------------------------------------------------------------
    def _server_identity(self) -> Any:
        server = self.studio.weaviate
        process = getattr(server, "process", None)
        return getattr(process, "pid", None)

    def chunk_index(self, name: str) -> ChunkIndex:
        return ChunkIndex(self.clients.get(), name)

    def index_of(self, collection: Collection) -> ChunkIndex:
        return self.chunk_index(collection.index.name)

    def set_index(self, collection_id: str, info: IndexInfo) -> None:
        row = self.store.one("SELECT settings FROM collections WHERE id = ?", (collection_id,))
        settings = dict(row["settings"])
        settings["index"] = info.__dict__.copy()
        self.store.update("collections", "id", collection_id,
                          {"settings": settings, "needs_reindex": int(settings.get("embedding_model") != info.model)})

    # --- collections ------------------------------------------------------------------------------------
    def list_collections(self, viewer: str | None = None) -> list[Collection]:
        rows = self.store.all("SELECT * FROM collections ORDER BY name COLLATE NOCASE")
        return [self._collection(row) for row in rows if _visible(row, viewer)]

    def collection(self, name_or_id: str | Collection, viewer: str | None = None) -> Collection:
        if isinstance(name_or_id, Collection):
            name_or_id = name_or_id.id
        rows = self.store.all("SELECT * FROM collections WHERE id = ? OR name = ? ORDER BY created_at",
                              (name_or_id, name_or_id))
        rows = [row for row in rows if _visible(row, viewer)]
        if not rows:
            raise LoragError(f"There is no collection {name_or_id!r}.", hint="Create it in the Documents tab.")
        # Names are unique per person: an id first, then the viewer's own, then one shared with them.
        return self._collection(min(rows, key=lambda row: (row["id"] != name_or_id, row["owner"] != (viewer or ""))))

    def _check_name_free(self, name: str, owner: str) -> None:
        """A name may repeat across people, never among the collections one person sees (no logins: everyone
        sees every collection, so names are unique)."""
        rows = self.store.all("SELECT owner, shared FROM collections WHERE name = ?", (name,))
        viewer = owner or None
        if any(_visible(row, viewer) for row in rows):
            raise LoragError(f"A collection named {name!r} exists already.")

    def check_owner(self, collection: str | Collection, viewer: str | None) -> Collection:
        """The collection, when `viewer` may change it (its owner; anyone for one made without logins)."""
        current = self.collection(collection, viewer=viewer)
        if viewer is not None and current.owner not in ("", viewer):
            raise LoragError(f"The collection {current.name!r} is shared with you by {current.owner}: you can "
                             "search it and ask about it, but only they can change it.")
        return current

    def set_shared(self, collection: str | Collection, shared: bool, viewer: str | None = None) -> Collection:
        current = self.check_owner(collection, viewer)
        self.store.update("collections", "id", current.id, {"shared": int(bool(shared))})
        return self.collection(current.id)

    def _collection(self, row: dict[str, Any]) -> Collection:
        stats = self.store.one("SELECT COUNT(*) AS n, COALESCE(SUM(chunks), 0) AS chunks FROM documents "
                               "WHERE collection_id = ? AND status = ?", (row["id"], DONE))
        settings = row["settings"]
        return Collection(id=row["id"], name=row["name"], settings=CollectionSettings.from_dict(settings),
                          index=IndexInfo(**settings["index"]), needs_reindex=bool(row["needs_reindex"]),
                          created_at=row["created_at"], documents=stats["n"], chunks=stats["chunks"],
                          owner=row["owner"], shared=bool(row["shared"]))

    def create_collection(self, name: str, embedding_model: str | None = None, chunk_size: int | None = None,
                          chunk_overlap: int | None = None, parse_strategy: str | None = None, owner: str = "",
                          shared: bool = True) -> Collection:
        name = validate_name(name, "collection name")
        self._check_name_free(name, owner)
        settings = self._validated(CollectionSettings(
            embedding_model=embedding_model or default_embedding_model(),
            chunk_size=chunk_size or self.defaults.chunk_size,
            chunk_overlap=self.defaults.chunk_overlap if chunk_overlap is None else chunk_overlap,
            parse_strategy=parse_strategy or self.defaults.parse_strategy))
        collection_id = uuid.uuid4().hex[:12]
        info = IndexInfo(name=weaviate_name(collection_id, 1), model=settings.embedding_model,
                         dimensions=self._dimensions(settings.embedding_model))
        self.chunk_index(info.name).create()
        self.store.insert("collections", {"id": collection_id, "name": name, "owner": owner, "shared": int(shared),
                                          "settings": {**settings.to_dict(), "index": info.__dict__.copy()},
                                          "needs_reindex": 0, "created_at": now()})
        log.info("created collection %s (%s)", name, info.name)
        return self.collection(collection_id)

    def _dimensions(self, model: str) -> int:
        spec = resolve_model(model, self.embedders.models_dir)
        return spec.preset.dimensions or self.embedders.get(model).dimensions

    def _validated(self, settings: CollectionSettings) -> CollectionSettings:
        resolve_model(settings.embedding_model, self.embedders.models_dir)  # raises when not on disk
        if settings.rerank:
            resolve_reranker(settings.reranker or default_reranker(), self.rerankers.models_dir)
        if settings.parse_strategy not in PARSE_STRATEGIES:
            raise LoragError(f"Unknown parse strategy {settings.parse_strategy!r}.",
                             hint=f"Use one of: {', '.join(PARSE_STRATEGIES)}.")
        if settings.parse_strategy == "hi_res" and not hi_res_available():
            raise LoragError("The hi_res strategy needs unstructured's layout model (yolo_x_layout) and poppler, "
                             "which are not on this machine.", hint="Use fast (or auto).")
        if not 100 <= int(settings.chunk_size) <= 8000:
            raise LoragError(f"The chunk size must be between 100 and 8000 characters, not {settings.chunk_size}.")
        if not 0 <= int(settings.chunk_overlap) <= int(settings.chunk_size) // 2:
            raise LoragError(f"The overlap must be between 0 and half the chunk size, not {settings.chunk_overlap}.")
        settings.chunk_size, settings.chunk_overlap = int(settings.chunk_size), int(settings.chunk_overlap)
        return settings

    def rename_collection(self, name_or_id: str, new_name: str) -> Collection:
        current = self.collection(name_or_id)
        new_name = validate_name(new_name, "collection name")
        if new_name != current.name:
            self._check_name_free(new_name, current.owner)
        self.store.update("collections", "id", current.id, {"name": new_name})
        return self.collection(current.id)

    def update_collection(self, name_or_id: str, **changes: Any) -> Collection:
        """Change settings; a new embedding model marks the collection needs-reindex (vectors never mix)."""
        current = self.collection(name_or_id)
        unknown = set(changes) - set(CollectionSettings.__dataclass_fields__)
        if unknown:
            raise LoragError(f"Unknown collection setting(s): {', '.join(sorted(unknown))}.")
        merged = self._validated(CollectionSettings.from_dict({**current.settings.to_dict(), **changes}))
        settings = {**merged.to_dict(), "index": current.index.__dict__.copy()}
        self.store.update("collections", "id", current.id,
                          {"settings": settings, "needs_reindex": int(merged.embedding_model != current.index.model)})
        return self.collection(current.id)

    def delete_collection(self, name_or_id: str) -> None:
        current = self.collection(name_or_id)
        if self.jobs_for(current, active_only=True):
            raise LoragError(f"The collection {current.name!r} is being indexed.", hint="Cancel that job first.")
        docs = self.documents(current)
        self.index_of(current).drop()
        self.store.execute("DELETE FROM collections WHERE id = ?", (current.id,))
        for doc in docs:
            self._remove_upload_if_unused(doc)

    # --- ingestion --------------------------------------------------------------------------------------
    def ingest(self, collection: str | Collection, files: Sequence[FileInput], password: str = "") -> Job:
        """Start a job that indexes `files`; bad files are reported per file, the others go on."""
        current = self.collection(collection)
        if not files:
            raise LoragError("Choose one or more files to upload.")
        self._refuse_during_rebuild(current, "upload again")
        tasks = [self._prepare(item) for item in files]
        return self._start(current, tasks, password, title=f"Index {len(tasks)} file(s) into {current.name}")

    def _prepare(self, item: FileInput) -> FileTask:
        """Check one file and store it content-addressed (before the job: upload temp files may vanish)."""
        name, path = (item if isinstance(item, tuple) else (Path(item).name, item))
        path = Path(path)
        try:
            name = safe_filename(name)
        except LoragError as exc:
            return FileTask(name=str(name), status="failed", stage="failed", error=str(exc))
        task = FileTask(name=name)
        try:
            if not path.is_file():
                raise LoragError(f"{name}: the uploaded file is gone; upload it again.")
            task.size = path.stat().st_size
            task.kind = check_file(name, task.size, read_head(path), self.max_upload_bytes)
            task.sha256 = sha256_file(path)
            task.path = str(self.uploads.store(path, task.sha256, Path(name).suffix))
        except LoragError as exc:
            task.status, task.stage, task.error = "failed", "failed", str(exc)
        return task

    def _start(self, current: Collection, tasks: list[FileTask], password: str, title: str,
               rebuild: IndexInfo | None = None) -> Job:
        job = self.jobs.create("ingest", title, config={"collection_id": current.id, "collection": current.name,
                                                        "files": [t.name for t in tasks],
                                                        "rebuild": rebuild is not None})
        run = IngestRun(self, current, tasks, password=password, rebuild=rebuild)
        for task in tasks:
            if task.status == "failed":
                self.jobs.append_log(job.id, f"{task.name}: FAILED: {task.error}")
        self.jobs.update(job.id, result=run.result(), message="queued")
        self.jobs.run_in_thread(job, run)
        return self.jobs.get(job.id)

    def reindex(self, collection: str | Collection, document_ids: Sequence[str] | None = None,
                password: str = "") -> Job:
        """Re-parse, re-chunk and re-embed documents from their stored files; old chunks are replaced.

        After an embedding-model change the whole collection is rebuilt into a new Weaviate collection."""
        current = self.collection(collection)
        if self.jobs_for(current, active_only=True):
            raise LoragError(f"The collection {current.name!r} is being indexed.", hint="Wait or cancel that job.")
        docs = [d for d in self.documents(current) if document_ids is None or d.id in set(document_ids)]
        if not docs:
            raise LoragError("There is nothing to re-index.")
        rebuild = None
        if current.needs_reindex:
            docs = self.documents(current)  # a new model: every document goes into the new index
            model = current.settings.embedding_model
            rebuild = IndexInfo(name=weaviate_name(current.id, current.index.generation + 1), model=model,
                                dimensions=self._dimensions(model), generation=current.index.generation + 1)
        tasks = []
        for doc in docs:
            path = doc.path
            if path is None or not path.exists():
                tasks.append(FileTask(name=doc.filename, sha256=doc.sha256, document_id=doc.id, status="failed",
                                      stage="failed", error=f"{doc.filename}: its stored file is missing; "
                                                            "upload it again."))
                continue
            tasks.append(FileTask(name=doc.filename, size=doc.size, sha256=doc.sha256, kind=KINDS[path.suffix],
                                  path=str(path), force=True))
        what = "Rebuild" if rebuild else "Re-index"
        return self._start(current, tasks, password, title=f"{what} {len(tasks)} document(s) of {current.name}",
                           rebuild=rebuild)

    def jobs_for(self, collection: str | Collection | None = None, active_only: bool = False) -> list[Job]:
        wanted = self.collection(collection).id if collection is not None else None
        out = []
        for job in self.jobs.list("ingest", limit=200):
            if wanted and job.config.get("collection_id") != wanted:
                continue
            if active_only and job.status not in ACTIVE:
                continue
            out.append(job)
        return out

    def cancel(self, job_id: str) -> Job:
        return self.jobs.request_cancel(job_id)

    def _mark_interrupted(self) -> None:
        """Documents left mid-way by a studio that stopped: not searchable, say what happened."""
        active = {job.id for job in self.jobs.list("ingest", limit=500) if job.active}
        marks = ", ".join("?" for _ in IN_PROGRESS)
        for row in self.store.all(f"SELECT * FROM documents WHERE status IN ({marks})", IN_PROGRESS):
            if (row.get("meta") or {}).get("job") not in active:
                self.store.update("documents", "id", row["id"], {
                    "status": "failed", "error": "Interrupted: the studio stopped while indexing it. Re-index it."})

    # --- documents --------------------------------------------------------------------------------------
    def documents(self, collection: str | Collection) -> list[Document]:
        current = self.collection(collection)
        rows = self.store.all("SELECT * FROM documents WHERE collection_id = ? ORDER BY created_at, filename",
                              (current.id,))
        return [Document(**row) for row in rows]

    def document(self, document_id: str) -> Document:
        row = self.store.one("SELECT * FROM documents WHERE id = ?", (document_id,))
        if row is None:
            raise LoragError(f"There is no document {document_id!r}.")
        return Document(**row)

    def delete_document(self, collection: str | Collection, document_id: str) -> None:
        current = self.collection(collection)
        self._refuse_during_rebuild(current, "delete documents")
        doc = self.document(document_id)
        if doc.collection_id != current.id:
            raise LoragError(f"The document {doc.filename!r} is not in the collection {current.name!r}.")
        if doc.status in IN_PROGRESS and (doc.meta.get("job") in {j.id for j in self.jobs_for(current, True)}):
            raise LoragError(f"{doc.filename} is being indexed right now.", hint="Cancel the job first.")
        self.index_of(current).delete_document(doc.id)
        self.store.execute("DELETE FROM documents WHERE id = ?", (doc.id,))
        self._remove_upload_if_unused(doc)

    def _remove_upload_if_unused(self, doc: Document) -> None:
        if self.store.one("SELECT id FROM documents WHERE sha256 = ?", (doc.sha256,)) is None and doc.path:
            self.uploads.remove(doc.sha256, doc.path.suffix)

    def count(self, collection: str | Collection, document_id: str | None = None) -> int:
        return self.index_of(self.collection(collection)).count(document_id)

    # --- retrieval --------------------------------------------------------------------------------------
    def search(self, collection: str | Collection, query: str, k: int | None = None, alpha: float | None = None,
               document_ids: Sequence[str] | None = None) -> list[Hit]:
        """Hybrid (BM25 + vector) search inside Weaviate, best first; only fully indexed documents."""
        current = self.collection(collection)
        query = (query or "").strip()
        if not query:
            raise LoragError("Type something to search for.")
        k = int(k or self.defaults.top_k)
        alpha = self.defaults.alpha if alpha is None else float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise LoragError(f"alpha must be between 0 (keywords only) and 1 (vectors only), not {alpha}.")
        allowed = self._searchable_ids(current, document_ids)
        if allowed is not None and not allowed:
            return []
        embedder = self.embedders.get(current.index.model)
        vector = embedder.encode([query], query=True)[0]
        reranker = self._reranker(current)
        wanted = candidates_for(k) if reranker else k
        rows = self.index_of(current).hybrid(query, vector, wanted, alpha, allowed)
        if reranker:
            rows = reranked(reranker, query, rows)[:k]
        return [_hit(uid, props, score, round(_cosine(vector, vec), 4), current.name, query)
                for uid, props, score, vec in rows]

    def _reranker(self, current: Collection):
        if not current.settings.rerank:
            return None
        return self.rerankers.get(current.settings.reranker or default_reranker())

    def _searchable_ids(self, current: Collection, document_ids: Sequence[str] | None) -> list[str] | None:
        """None: no filter needed. Otherwise the ids to keep (chosen ones, minus half-indexed ones)."""
        rows = self.store.all("SELECT id, status FROM documents WHERE collection_id = ?", (current.id,))
        indexed = {r["id"] for r in rows if r["status"] == DONE}
        if document_ids:
            return sorted(indexed & set(document_ids))
        if len(indexed) == len(rows):
            return None
        return sorted(indexed)

    def build_messages(self, question: str, hits: list[Hit], history: list[dict] | None = None,
                       system: str | None = None) -> list[dict]:
        return answers.build_messages(question, hits, history, system)

    def cited(self, answer_text: str, hits: list[Hit]) -> list[Citation]:
        return answers.cited(answer_text, hits)

    def min_similarity(self, collection: Collection) -> float:
        try:
            return embedding_preset(collection.index.model).min_similarity
        except LoragError:
            return 0.2

    def answer_stream(self, question: str, collection: str | Collection,
                      generate: Callable[[list[dict]], Iterable[str]], k: int | None = None,
                      alpha: float | None = None, document_ids: Sequence[str] | None = None,
                      history: list[dict] | None = None, system: str | None = None,
                      min_similarity: float | None = None) -> answers.AnswerStream:
        """Retrieve, keep the relevant chunks, and stream a grounded answer from `generate(messages)`."""
        grounding = self.ground(question, collection, k=k, alpha=alpha, document_ids=document_ids,
                                history=history, system=system, min_similarity=min_similarity)
        return answers.AnswerStream.of(grounding, generate)

    def ground(self, question: str, collection: str | Collection, k: int | None = None, alpha: float | None = None,
               document_ids: Sequence[str] | None = None, history: list[dict] | None = None,
               system: str | None = None, min_similarity: float | None = None) -> answers.Grounding:
        """Hybrid search, keep the chunks that reach the model's min_similarity, build the grounded messages."""
        current = self.collection(collection)
        hits = self.search(current, question, k=k, alpha=alpha, document_ids=document_ids)
        floor = self.min_similarity(current) if min_similarity is None else min_similarity
        relevant = [h for h in hits if h.similarity >= floor]
        return answers.Grounding.build(question, hits, relevant, current.name, history, system)

    def chat_turn(self, messages: list[dict], collection: str | Collection,
                  document_ids: Sequence[str] | None = None, k: int | None = None,
                  alpha: float | None = None) -> "PreparedTurn":
        """One chat turn over documents (the Chat tab's prepare hook, the API): see engine.rag.chat."""
        from engine.rag.chat import prepare_turn

        return prepare_turn(self, messages, collection, document_ids=document_ids, k=k, alpha=alpha)

    def source(self, chunk_id: str, collection: str | Collection | None = None,
               viewer: str | None = None, page: int | None = None) -> Source:
        """The chunk's text, file, pages and rendered page images, for the source viewer; `page` (the one
        holding the cited passage) comes first."""
        candidates = self.list_collections(viewer)
        if collection:  # look where the citation says first; it may have been renamed since
            named = [c for c in candidates if collection in (c.id, c.name, getattr(collection, "id", None))]
            candidates = named + [c for c in candidates if c not in named]
        for current in candidates:
            props = self.index_of(current).fetch(chunk_id)
            if props is None:
                continue
            doc_row = self.store.one("SELECT * FROM documents WHERE id = ?", (props.get("document_id"),))
            doc = Document(**doc_row) if doc_row else None
            pages = [int(p) for p in props.get("pages") or []]
            page = page if page in pages else (pages[0] if pages else None)
            shown = sorted(pages, key=lambda p: p != page)[:4]
            images = []
            if doc and doc.path and doc.path.suffix == ".pdf" and doc.path.exists():
                viewable = self.uploads.viewable(doc.path, doc.sha256)
                images = [img for p in shown if (img := self.uploads.page_image(viewable, doc.sha256, p))]
            return Source(chunk_id=chunk_id, text=props.get("text", ""), filename=props.get("filename", ""),
                          document_id=props.get("document_id", ""), collection=current.name, pages=pages,
                          section=props.get("section") or "", page_images=images,
                          file_path=doc.path if doc else None, page=page,
                          ocr_pages=[p for p in pages if doc and p in doc.meta.get("ocr_pages", [])])
        raise LoragError("That source is no longer in the index (its document was deleted or re-indexed).")


def _hit(uid: str, props: dict[str, Any], score: float, similarity: float, collection: str, query: str) -> Hit:
    text, pages = props.get("text", ""), [int(p) for p in props.get("pages") or []]
    starts = [int(s) for s in props.get("page_starts") or []]
    return Hit(chunk_id=uid, text=text, filename=props.get("filename", ""), document_id=props.get("document_id", ""),
               pages=pages, section=props.get("section") or "", score=round(score, 4), similarity=similarity,
               chunk_index=int(props.get("chunk_index") or 0), collection=collection, page_starts=starts,
               page=passage_page(text, pages, starts, query))


def _visible(row: dict[str, Any], viewer: str | None) -> bool:
    return viewer is None or bool(row["shared"]) or row["owner"] == viewer


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
