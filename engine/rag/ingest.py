"""One ingestion job: files -> parse -> chunk -> embed -> store, each file on its own, with per-stage progress.

The job's row carries the per-file table in `result["files"]` while it runs (the UI polls it, so progress
survives a page reload). A file that fails is reported by name and the others go on.

Guarantees:
- Idempotent: a document is keyed by the sha256 of its bytes; chunk ids are uuid5(hash, index, model),
  so a retry overwrites instead of adding, and stale chunks past the new count are deleted.
- No half-documents: cancel is honoured while parsing and embedding, never during the short store step,
  so a cancelled file has no objects in Weaviate (a re-indexed one keeps its previous chunks).
- `rebuild` mode (after an embedding-model change) writes into a new Weaviate collection and swaps it in
  only when every file went through; a cancel or failure drops the new one and leaves the old intact.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from engine.errors import LoragError
from engine.fields import known_fields
from engine.jobs import JobCancelled, JobContext
from engine.rag.chunk import chunk_elements
from engine.rag.context import document_title, embedding_text
from engine.rag.index import ChunkIndex, chunk_uuid
from engine.rag.language import detect_languages
from engine.rag.named import document_profile
from engine.rag.parse import parse_file
from engine.rag.stems import stem_text
from engine.rag.types import DONE, FAILED, Collection, IndexInfo
from engine.store import now

if TYPE_CHECKING:
    from engine.rag.collections import Collections

log = logging.getLogger(__name__)

DOC_NAMESPACE = uuid.UUID("0b6f5f0e-3c55-5b43-9d3e-6c6f7261672f")
# Share of a file's progress bar per stage.
STAGES = {"parsing": (0.0, 0.45), "embedding": (0.45, 0.95), "storing": (0.95, 1.0)}
REPORT_EVERY_S = 0.4
WAITING = "waiting for the collection's previous job to finish"


def document_id(collection_id: str, sha256: str) -> str:
    return uuid.uuid5(DOC_NAMESPACE, f"{collection_id}:{sha256}").hex[:20]


@dataclass
class FileTask:
    """One file of an upload, as the job's per-file table shows it."""

    name: str
    size: int = 0
    sha256: str = ""
    kind: str = ""
    path: str = ""
    status: str = "queued"  # queued | parsing | embedding | storing | indexed | skipped | failed | cancelled
    stage: str = "waiting"
    progress: float = 0.0
    error: str = ""
    error_facts: dict[str, Any] = field(default_factory=dict)  # LoragError.facts(): the page says it in Russian too
    document_id: str = ""
    pages: int = 0
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)   # pages read by OCR (scans)
    timings: dict[str, float] = field(default_factory=dict)
    force: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FileTask":
        return cls(**known_fields(cls, data))


class IngestRun:
    def __init__(self, service: "Collections", collection: Collection, tasks: list[FileTask], password: str = "",
                 rebuild: IndexInfo | None = None) -> None:
        self.service = service
        self.store = service.store
        self.collection = collection
        self.tasks = tasks
        self.password = password
        self.rebuild = rebuild
        self.target = rebuild or collection.index
        self.ctx: JobContext | None = None
        self._last_report = 0.0
        self._deferred: list[Callable[[], None]] = []

    # --- the job ----------------------------------------------------------------------------------------
    def __call__(self, ctx: JobContext) -> dict[str, Any]:
        self.ctx = ctx
        lock = self.service.collection_lock(self.collection.id)
        while not lock.acquire(timeout=0.5):  # one job per collection at a time; the others wait their turn
            if ctx.cancelled:
                self._mark_unstarted_cancelled()
                raise JobCancelled()
            if ctx.jobs.get(ctx.job_id).message != WAITING:
                ctx.progress(0.0, WAITING)
        try:
            return self._run(ctx)
        finally:
            lock.release()

    def _run(self, ctx: JobContext) -> dict[str, Any]:
        index = self.service.chunk_index(self.target)
        if self.rebuild is not None:
            index.drop()  # what an interrupted rebuild left there: the new index starts empty
        index.create()
        embedder = None
        try:
            for task in self.tasks:
                if task.status != "queued":
                    continue
                ctx.check_cancel()
                if embedder is None:
                    embedder = self.service.embedders.get(self.target.model)
                self._run_file(task, index, embedder)
            if self.rebuild is not None:
                self._finish_rebuild()
        except JobCancelled:
            if self.rebuild is not None:
                index.drop()
            self._mark_unstarted_cancelled()
            raise
        except LoragError:
            if self.rebuild is not None:
                index.drop()
            raise
        self._report(force=True)
        return self.result()

    def _mark_unstarted_cancelled(self) -> None:
        for task in self.tasks:
            if task.status == "queued":
                task.status, task.stage = "cancelled", "not indexed (cancelled)"
        self._report(force=True)

    def result(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for task in self.tasks:
            counts[task.status] = counts.get(task.status, 0) + 1
        return {"collection_id": self.collection.id, "collection": self.collection.name,
                "files": [asdict(t) for t in self.tasks], "counts": counts}

    def summary(self) -> str:
        parts = [f"{n} {status}" for status, n in sorted(self.result()["counts"].items())]
        return f"{len(self.tasks)} file(s): " + ", ".join(parts)

    # --- one file ---------------------------------------------------------------------------------------
    def _run_file(self, task: FileTask, index: ChunkIndex, embedder) -> None:
        existing = self.store.one("SELECT * FROM documents WHERE collection_id = ? AND sha256 = ?",
                                  (self.collection.id, task.sha256))
        if self._already_indexed(task, existing):
            task.status, task.stage, task.progress = "skipped", "already indexed", 1.0
            task.document_id, task.pages, task.chunks = existing["id"], existing["pages"], existing["chunks"]
            self._log(f"{task.name}: already indexed ({existing['chunks']} chunks); nothing added")
            self._report(force=True)
            return
        task.document_id = existing["id"] if existing else document_id(self.collection.id, task.sha256)
        was_indexed = bool(existing and existing["status"] == DONE)
        if self.rebuild is None:
            self._upsert_row(task, existing, "parsing")
        try:
            self._pipeline(task, index, embedder)
        except JobCancelled:
            self._undo(task, index, existing, was_indexed)
            task.status, task.stage = "cancelled", "cancelled; nothing of it was indexed"
            raise
        except LoragError as exc:
            task.error_facts = exc.facts()
            self._fail(task, existing, was_indexed, str(exc))
        except Exception as exc:  # a bug: keep going with the other files, keep the traceback
            log.exception("ingesting %s failed", task.name)
            self._fail(task, existing, was_indexed, f"internal error: {exc!r} (see the log)")
        self._report(force=True)

    def _already_indexed(self, task: FileTask, existing: dict[str, Any] | None) -> bool:
        if task.force or existing is None or existing["status"] != DONE:
            return False
        return (existing.get("meta") or {}).get("index") == self.target.name

    def _pipeline(self, task: FileTask, index: ChunkIndex, embedder) -> None:
        settings = self.collection.settings
        defaults = self.service.defaults
        started = time.perf_counter()
        self._stage(task, "parsing", 0.0, "parsing")
        self._set_row(task, "parsing")
        parsed = parse_file(Path(task.path), task.kind, task.name, strategy=settings.parse_strategy,
                            password=self.password, pages_per_step=defaults.parse_pages_per_step,
                            progress=lambda done, total: self._stage(
                                task, "parsing", done / max(total, 1), f"parsing page {done} of {total}"),
                            ocr_progress=lambda done, total: self._stage(  # OCR takes seconds a page: say so now
                                task, "parsing", done / max(total, 1), f"OCR page {done} of {total}", done == 0),
                            check_cancel=self.ctx.check_cancel)
        task.pages, task.warnings, task.ocr_pages = parsed.pages, parsed.warnings, parsed.ocr_pages
        task.languages = detect_languages([e.text for e in parsed.elements])
        profile = document_profile(document_title(task.name), parsed.elements)
        if self.password and task.kind == "pdf":
            self.service.uploads.save_decrypted(Path(task.path), task.sha256, self.password)
        chunks = chunk_elements(parsed.elements, settings.chunk_size, settings.chunk_overlap, task.name,
                                within_pages=task.kind == "pdf")
        task.chunks = len(chunks)
        task.timings["parse_s"] = round(time.perf_counter() - started, 3)
        for warning in parsed.warnings:
            self._log(f"{task.name}: {warning}")

        started = time.perf_counter()
        self._set_row(task, "embedding")
        title = document_title(task.name)
        vectors = embedder.encode_batches(
            [embedding_text(title, c.section, c.text) for c in chunks], defaults.embed_batch_size,
            on_batch=lambda done, total: self._stage(task, "embedding", done / total,
                                                     f"embedding chunk {done} of {total}"),
            check_cancel=self.ctx.check_cancel)
        task.timings["embed_s"] = round(time.perf_counter() - started, 3)
        self.ctx.check_cancel()  # the last point where a cancel is honoured for this file

        started = time.perf_counter()
        self._stage(task, "storing", 0.0, f"storing {len(chunks)} chunks")
        self._set_row(task, "storing")
        objects = [{"uuid": chunk_uuid(task.sha256, c.index, self.target.model), "vector": vector,
                    "properties": {"text": c.text, "title": title, "document_id": task.document_id,
                                   "stems": stem_text(embedding_text(title, c.section, c.text)),
                                   "filename": task.name,
                                   "section": c.section, "pages": c.pages, "page_starts": c.page_starts,
                                   "chunk_index": c.index,
                                   "element_types": c.element_types, "embedding_model": self.target.model,
                                   "html": c.html}}
                   for c, vector in zip(chunks, vectors, strict=True)]
        try:
            report = index.insert(objects, self.service.defaults.store_batch_size,
                                  on_batch=lambda done, total: self._stage(task, "storing", done / total,
                                                                           f"storing chunk {done} of {total}"))
            index.delete_document(task.document_id, from_chunk=len(chunks))  # a shorter re-index: drop the tail
        except LoragError:
            raise
        except Exception as exc:  # the server died or stopped answering mid-way (weaviate-client's own errors)
            raise LoragError(f"{task.name}: Weaviate stopped answering while its chunks were stored "
                             f"({type(exc).__name__}); the document is left out of the search.",
                             hint="Re-index it once Weaviate runs again (the Settings tab shows its status).",
                             key="documents.weaviate_stopped", hint_key="documents.weaviate_stopped_hint",
                             params={"name": task.name, "error_type": type(exc).__name__}) from exc
        task.timings["store_s"] = round(time.perf_counter() - started, 3)
        if report.failed:
            index.delete_document(task.document_id)
            first = next(iter(report.failed.items()))
            raise LoragError(f"{task.name}: Weaviate refused {len(report.failed)} of {len(chunks)} chunks (chunk "
                             f"{first[0]}: {first[1]}); the document was taken out of the index.",
                             hint="Re-index it once Weaviate is healthy.",
                             key="documents.weaviate_refused", hint_key="documents.weaviate_refused_hint",
                             params={"name": task.name, "refused": len(report.failed), "total": len(chunks),
                                     "chunk": first[0], "reason": first[1]})
        task.status, task.stage, task.progress, task.error = DONE, "indexed", 1.0, ""
        self._log(f"{task.name}: indexed {task.pages} page(s) into {len(chunks)} chunks "
                  f"(parse {task.timings['parse_s']} s, embed {task.timings['embed_s']} s, "
                  f"store {task.timings['store_s']} s)")
        self._commit_row(task, profile)

    # --- document rows ----------------------------------------------------------------------------------
    def _upsert_row(self, task: FileTask, existing: dict[str, Any] | None, status: str) -> None:
        meta = dict((existing or {}).get("meta") or {})
        meta.update({"path": task.path, "kind": task.kind, "job": self.ctx.job_id})
        if existing:
            self.store.update("documents", "id", task.document_id,
                              {"status": status, "filename": task.name, "meta": meta})
        else:
            self.store.insert("documents", {"id": task.document_id, "collection_id": self.collection.id,
                                            "sha256": task.sha256, "filename": task.name, "size": task.size,
                                            "status": status, "meta": meta, "created_at": now()})

    def _set_row(self, task: FileTask, status: str) -> None:
        if self.rebuild is None:
            self.store.update("documents", "id", task.document_id, {"status": status})

    def _commit_row(self, task: FileTask, profile: str) -> None:
        """The row says indexed, with what the search needs besides the chunks (the profile: engine.rag.named)."""
        def commit() -> None:
            row = self.store.one("SELECT meta FROM documents WHERE id = ?", (task.document_id,))
            meta = dict((row or {}).get("meta") or {})
            meta.update({"path": task.path, "kind": task.kind, "index": self.target.name,
                         "embedding_model": self.target.model, "warnings": task.warnings,
                         "languages": task.languages, "ocr_pages": task.ocr_pages, "timings": task.timings,
                         "job": self.ctx.job_id, "indexed_at": now(), "profile": profile})
            meta.pop("purge", None)   # whole now: nothing of an earlier interrupted run is left to delete
            meta.pop("error_facts", None)
            self.store.update("documents", "id", task.document_id,
                              {"status": DONE, "pages": task.pages, "chunks": task.chunks, "error": "",
                               "meta": meta})
        if self.rebuild is None:
            commit()
        else:
            self._deferred.append(commit)

    def _fail(self, task: FileTask, existing: dict[str, Any] | None, was_indexed: bool, message: str) -> None:
        task.status, task.stage, task.error = FAILED, "failed", message
        self._log(f"{task.name}: FAILED: {message}")
        if self.rebuild is not None:
            self._deferred.append(lambda: self.store.update("documents", "id", task.document_id,
                                                            {"status": FAILED, "chunks": 0, "error": message}))
            return
        if was_indexed:  # a failed re-index keeps the previous chunks
            self.store.update("documents", "id", task.document_id,
                              {"status": DONE, "error": f"The last re-index failed: {message}"})
        else:  # chunks it wrote before failing (Weaviate died mid-way) are deleted by Ingestion.purge_interrupted
            row = self.store.one("SELECT meta FROM documents WHERE id = ?", (task.document_id,))
            self.store.update("documents", "id", task.document_id,
                              {"status": FAILED, "error": message, "pages": task.pages, "chunks": 0,
                               "meta": {**((row or {}).get("meta") or {}), "purge": True,
                                        "error_facts": task.error_facts}})

    def _undo(self, task: FileTask, index: ChunkIndex, existing: dict[str, Any] | None, was_indexed: bool) -> None:
        if self.rebuild is not None:
            return  # the whole new index is dropped
        if was_indexed:
            self.store.update("documents", "id", task.document_id, {"status": DONE})
            return
        index.delete_document(task.document_id)
        if existing is None:
            self.store.execute("DELETE FROM documents WHERE id = ?", (task.document_id,))
        else:
            self.store.update("documents", "id", task.document_id,
                              {"status": FAILED, "error": "Indexing was cancelled."})

    def _finish_rebuild(self) -> None:
        old = self.collection.index
        with self.store.transaction():
            for commit in self._deferred:
                commit()
            self.service.set_index(self.collection.id, self.rebuild)
        self.service.chunk_index(old).drop()
        self._log(f"switched to the new index {self.rebuild.name} ({self.rebuild.model}); dropped {old.name}")

    # --- progress -----------------------------------------------------------------------------------------
    def _stage(self, task: FileTask, stage: str, fraction: float, text: str, force: bool = False) -> None:
        low, high = STAGES[stage]
        task.status, task.stage = stage, text
        task.progress = round(low + (high - low) * max(0.0, min(1.0, fraction)), 4)
        self._report(force)

    def _report(self, force: bool = False) -> None:
        if self.ctx is None:
            return
        moment = time.monotonic()
        if not force and moment - self._last_report < REPORT_EVERY_S:
            return
        self._last_report = moment
        total = len(self.tasks) or 1
        done = sum(1.0 if t.status in ("indexed", "skipped", "failed", "cancelled") else t.progress
                   for t in self.tasks)
        current = next((t for t in self.tasks if t.status in STAGES), None)
        message = f"{current.name}: {current.stage}" if current else self.summary()
        self.ctx.jobs.update(self.ctx.job_id, progress=min(1.0, done / total), message=message,
                             result=self.result())

    def _log(self, line: str) -> None:
        if self.ctx is not None:
            self.ctx.log(line)
        log.info("%s", line)
