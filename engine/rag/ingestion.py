"""Ingestion jobs: uploads and re-indexing of a collection's documents, each a job in the studio process.

The work of one job is `engine.rag.ingest.IngestRun`; this part checks and stores the files, starts the jobs and
marks documents that a stopped studio left half-indexed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

from engine.errors import LoragError, Phrase
from engine.jobs import Job, JobContext, Jobs
from engine.rag.collections import Collections
from engine.rag.filecheck import KINDS, check_file
from engine.rag.index import weaviate_name
from engine.rag.ingest import FileTask, IngestRun
from engine.rag.types import IN_PROGRESS, Collection, IndexInfo
from engine.rag.uploads import read_head, sha256_file
from engine.safety import safe_filename
from engine.writes import WriteHold

log = logging.getLogger(__name__)

FileInput = str | Path | tuple[str, str | Path]


class Ingestion:
    def __init__(self, collections: Collections, jobs: Jobs, max_upload_bytes: int) -> None:
        self.collections = collections
        self.jobs = jobs
        self.max_upload_bytes = max_upload_bytes
        self.mark_interrupted()

    def ingest(self, collection: str | Collection, files: Sequence[FileInput], password: str = "") -> Job:
        """Start a job that indexes `files` (paths, or (file name, path) pairs); bad files are reported per file
        in job.result["files"] (see engine.rag.ingest.FileTask), the others go on."""
        current = self.collections.collection(collection)
        if not files:
            raise LoragError("Choose one or more files to upload.", key="documents.choose_files")
        self.collections.refuse_during_rebuild(current, Phrase("upload again", "error.documents.upload_again"))
        what = Phrase(f"Indexing into {current.name!r}", "error.documents.indexing_into", {"name": current.name})
        hold = self.collections.writes.hold(what)  # before files enter uploads/
        try:
            tasks = [self._prepare(item) for item in files]
        except BaseException:
            hold.release()
            raise
        return self._start(current, tasks, password, title=f"Index {len(tasks)} file(s) into {current.name}",
                           hold=hold)

    def _prepare(self, item: FileInput) -> FileTask:
        """Check one file and store it content-addressed (before the job: upload temp files may vanish)."""
        name, path = (item if isinstance(item, tuple) else (Path(item).name, item))
        path = Path(path)
        try:
            name = safe_filename(name)
        except LoragError as exc:
            return FileTask(name=str(name), status="failed", stage="failed", error=str(exc), error_facts=exc.facts())
        task = FileTask(name=name)
        try:
            if not path.is_file():
                raise LoragError(f"{name}: the uploaded file is gone; upload it again.",
                                 key="documents.upload_gone", params={"name": name})
            task.size = path.stat().st_size
            task.kind = check_file(name, task.size, read_head(path), self.max_upload_bytes)
            task.sha256 = sha256_file(path)
            task.path = str(self.collections.uploads.store(path, task.sha256, Path(name).suffix))
        except LoragError as exc:
            task.status, task.stage, task.error, task.error_facts = "failed", "failed", str(exc), exc.facts()
        return task

    def _start(self, current: Collection, tasks: list[FileTask], password: str, title: str,
               rebuild: IndexInfo | None = None, hold: WriteHold | None = None) -> Job:
        """The job holds the write lock (engine.writes) from here until it ends: a backup waits for it."""
        what = Phrase(f"Re-indexing {current.name!r}", "error.documents.reindexing", {"name": current.name})
        hold = hold or self.collections.writes.hold(what)
        try:
            return self._start_held(current, tasks, password, title, rebuild, hold)
        except BaseException:
            hold.release()
            raise

    def _start_held(self, current: Collection, tasks: list[FileTask], password: str, title: str,
                    rebuild: IndexInfo | None, hold: WriteHold) -> Job:
        job = self.jobs.create("ingest", title, config={"collection_id": current.id, "collection": current.name,
                                                        "files": [t.name for t in tasks],
                                                        "rebuild": rebuild is not None})
        run = IngestRun(self.collections, current, tasks, password=password, rebuild=rebuild)
        for task in tasks:
            if task.status == "failed":
                self.jobs.append_log(job.id, f"{task.name}: FAILED: {task.error}")
        self.jobs.update(job.id, result=run.result(), message="queued")
        self.jobs.run_in_thread(job, _releasing(run, hold))
        return self.jobs.get(job.id)

    def reindex(self, collection: str | Collection, document_ids: Sequence[str] | None = None,
                password: str = "") -> Job:
        """Re-parse, re-chunk and re-embed documents (all, or some) from their stored files; old chunks are
        replaced. After an embedding-model change the whole collection is rebuilt into a new Weaviate
        collection, swapped in at the end."""
        collections = self.collections
        current = collections.collection(collection)
        if collections.jobs_for(current, active_only=True):
            raise LoragError(f"The collection {current.name!r} is being indexed.", hint="Wait or cancel that job.",
                             key="documents.being_indexed_wait", hint_key="documents.being_indexed_wait_hint",
                             params={"name": current.name})
        docs = [d for d in collections.documents(current) if document_ids is None or d.id in set(document_ids)]
        if not docs:
            raise LoragError("There is nothing to re-index.", key="documents.nothing_to_reindex")
        rebuild = None
        if current.needs_reindex:
            docs = collections.documents(current)  # a new model: every document goes into the new index
            model = current.settings.embedding_model
            rebuild = IndexInfo(name=weaviate_name(current.id, current.index.generation + 1), model=model,
                                dimensions=collections.dimensions(model), generation=current.index.generation + 1,
                                replicas=current.index.replicas, consistency=current.index.consistency)
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

    def cancel(self, job_id: str) -> Job:
        """Ask an ingestion job to stop (files already stored stay; the one in progress is left out whole)."""
        return self.jobs.request_cancel(job_id)

    def mark_interrupted(self) -> None:
        """Documents left mid-way by a studio that stopped: not searchable, say what happened, and none of their
        chunks left in Weaviate (a kill during the store step leaves the batches already written there)."""
        store = self.collections.store
        active = {job.id for job in self.jobs.list("ingest", limit=500) if job.active}
        marks = ", ".join("?" for _ in IN_PROGRESS)
        for row in store.all(f"SELECT * FROM documents WHERE status IN ({marks})", IN_PROGRESS):
            if (row.get("meta") or {}).get("job") not in active:
                meta = {**(row.get("meta") or {}), "purge": True}
                store.update("documents", "id", row["id"], {
                    "status": "failed", "chunks": 0, "meta": meta,
                    "error": "Interrupted: the studio stopped while indexing it. Re-index it."})
        self.purge_interrupted()
        if not active:
            self.drop_abandoned_rebuilds()

    def drop_abandoned_rebuilds(self) -> list[str]:
        """Drop the new indexes that rebuilds (after an embedding-model change) left half-filled when the studio
        stopped: every Weaviate collection of a Lorag collection but the one it searches. The old index stays in
        use and the collection still says it needs a re-index. Returns the dropped names."""
        collections = self.collections.list_collections()
        if not collections:
            return []
        try:
            client = self.collections.clients.get()
            existing = set(client.collections.list_all(simple=True))
        except Exception as exc:  # Weaviate down: try again at the next start
            log.warning("could not look for abandoned rebuilds: %s", exc)
            return []
        dropped = []
        for current in collections:
            prefix = weaviate_name(current.id, 0)[:-1]
            for name in sorted(n for n in existing if n.startswith(prefix) and n != current.index.name):
                client.collections.delete(name)
                log.info("dropped %s, left half-filled by a rebuild of %s that was interrupted", name, current.name)
                dropped.append(name)
        return dropped

    def purge_interrupted(self) -> int:
        """Delete the chunks of the documents marked "purge" (interrupted, or failed in the store step with Weaviate
        gone); one whose chunks cannot be deleted now keeps its mark for the next start or Weaviate restart.
        Returns how many were purged."""
        store = self.collections.store
        purged = 0
        for row in store.all("SELECT * FROM documents WHERE status = 'failed'"):
            meta = dict(row.get("meta") or {})
            if not meta.get("purge"):
                continue
            try:
                index = self.collections.index_of(self.collections.collection(row["collection_id"]))
                removed = index.delete_document(row["id"])
            except Exception as exc:  # Weaviate down or the collection gone: the chunks are never searched
                log.warning("could not delete the chunks of interrupted document %s yet: %s", row["id"], exc)
                continue
            meta.pop("purge")
            store.update("documents", "id", row["id"], {"meta": meta})
            log.info("deleted %d chunk(s) of %s, left by an interrupted or failed job", removed, row["filename"])
            purged += 1
        return purged


def _releasing(run: IngestRun, hold: WriteHold) -> Callable[[JobContext], dict[str, Any]]:
    def work(ctx: JobContext) -> dict[str, Any]:
        try:
            return run(ctx)
        finally:
            hold.release()

    return work
