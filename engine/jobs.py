"""Long work as jobs: an id, a status, progress, a log folder, and cancel.

A job's row lives in SQLite and its files in data/jobs/<id>/ (log.txt and whatever the job
writes), so the UI re-attaches after a page reload or a restart by reading them. Jobs that run
in the studio process go through `Jobs.run_in_thread`; jobs that run in a child process (training)
update the same row from that process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from engine.errors import LoragError
from engine.store import Store, now

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running", "cancelling")
FINISHED = ("completed", "failed", "cancelled", "interrupted")


@dataclass
class Job:
    id: str
    kind: str
    title: str
    status: str
    progress: float = 0.0
    message: str = ""
    owner: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    pid: int | None = None
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def refusal(self) -> LoragError:
        """Its message as a LoragError: for a job that failed with one, with the facts to say it in any language."""
        facts = self.result.get("error_facts") if self.status == "failed" and isinstance(self.result, dict) else None
        return LoragError.from_facts(self.message, facts or {})


class JobCancelled(Exception):
    """Raised inside a job's function when a cancel was requested."""


class JobContext:
    """What a job function gets: report progress, write the log, check for cancel."""

    def __init__(self, jobs: "Jobs", job_id: str) -> None:
        self.jobs = jobs
        self.job_id = job_id

    @property
    def folder(self) -> Path:
        return self.jobs.folder(self.job_id)

    def progress(self, fraction: float, message: str = "") -> None:
        self.jobs.update(self.job_id, progress=max(0.0, min(1.0, fraction)), message=message)

    def log(self, line: str) -> None:
        self.jobs.append_log(self.job_id, line)

    @property
    def cancelled(self) -> bool:
        return self.jobs.get(self.job_id).status == "cancelling"

    def check_cancel(self) -> None:
        if self.cancelled:
            raise JobCancelled()


class Jobs:
    def __init__(self, store: Store, jobs_dir: Path) -> None:
        self.store = store
        self.jobs_dir = Path(jobs_dir)
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._threads: dict[str, threading.Thread] = {}

    def folder(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def log_path(self, job_id: str) -> Path:
        return self.folder(job_id) / "log.txt"

    def create(self, kind: str, title: str, config: dict[str, Any] | None = None, owner: str = "") -> Job:
        job_id = f"{kind}-{uuid.uuid4().hex[:12]}"
        self.folder(job_id).mkdir(parents=True, exist_ok=True)
        self.store.insert("jobs", {"id": job_id, "kind": kind, "title": title, "owner": owner, "status": "queued",
                                   "config": config or {}, "result": {}, "created_at": now()})
        return self.get(job_id)

    def get(self, job_id: str) -> Job:
        row = self.store.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise LoragError(f"There is no job {job_id!r}.", key="jobs.not_found", params={"job_id": job_id})
        return Job(**row)

    def list(self, kind: str | None = None, limit: int = 100) -> list[Job]:
        if kind:
            rows = self.store.all("SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC LIMIT ?", (kind, limit))
        else:
            rows = self.store.all("SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,))
        return [Job(**row) for row in rows]

    def update(self, job_id: str, **changes: Any) -> None:
        self.store.update("jobs", "id", job_id, changes)

    def start(self, job_id: str, pid: int | None = None) -> None:
        """Mark the job running; a cancel asked for while it was queued stays asked for (one statement: a
        cancel arriving between a read and a write would be lost)."""
        self.store.execute("UPDATE jobs SET status = CASE status WHEN 'cancelling' THEN 'cancelling' ELSE 'running' "
                           "END, started_at = ?, pid = ? WHERE id = ?", (now(), pid or os.getpid(), job_id))

    def finish(self, job_id: str, status: str, message: str = "", result: dict[str, Any] | None = None) -> None:
        assert status in FINISHED, status
        changes: dict[str, Any] = {"status": status, "message": message, "finished_at": now()}
        if status == "completed":
            changes["progress"] = 1.0
        if result is not None:
            changes["result"] = result
        self.update(job_id, **changes)

    def append_log(self, job_id: str, line: str) -> None:
        with self.log_path(job_id).open("a", encoding="utf-8") as fh:
            fh.write(line.rstrip("\n") + "\n")

    def log_tail(self, job_id: str, lines: int = 40) -> str:
        path = self.log_path(job_id)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def request_cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job.active:
            self.update(job_id, status="cancelling", message="Cancelling…")
        return self.get(job_id)

    def run_in_thread(self, job: Job, work: Callable[[JobContext], dict[str, Any] | None]) -> threading.Thread:
        """Run `work(ctx)` in a daemon thread; its return value becomes the job's result."""
        thread = threading.Thread(target=self._run, args=(job.id, work), name=f"job-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()
        return thread

    def running_here(self, job_id: str) -> bool:
        """Whether this process runs the job in one of its threads."""
        return job_id in self._threads

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def follow(self, job_id: str, every: float = 1.0) -> Iterator[Job]:
        """The job every `every` seconds while it runs, then once more as it ended (a page shows each state;
        the job goes on if the page stops reading)."""
        while True:
            job = self.get(job_id)
            yield job
            if not job.active:
                return
            time.sleep(every)

    def _run(self, job_id: str, work: Callable[[JobContext], dict[str, Any] | None]) -> None:
        ctx = JobContext(self, job_id)
        self.start(job_id)
        try:
            result = work(ctx)
        except JobCancelled:
            self.finish(job_id, "cancelled", "Cancelled.")
        except LoragError as exc:
            ctx.log(f"ERROR: {exc}")
            self.finish(job_id, "failed", str(exc), {**self.get(job_id).result, "error_facts": exc.facts()})
        except Exception as exc:  # a bug, not the person's doing: keep the traceback in the log
            log.exception("job %s crashed", job_id)
            ctx.log(traceback.format_exc())
            self.finish(job_id, "failed", f"Internal error: {exc!r}. See the job log.")
        else:
            if self.get(job_id).status == "cancelling":
                self.finish(job_id, "cancelled", "Cancelled.", result or {})
            else:
                self.finish(job_id, "completed", self.get(job_id).message, result or {})
        finally:
            self._threads.pop(job_id, None)

    def mark_orphans(self, kinds: tuple[str, ...]) -> int:
        """At start-up: in-process jobs of `kinds` still marked active died with the last process."""
        marks = ", ".join("?" for _ in kinds)
        rows = self.store.all(f"SELECT id FROM jobs WHERE kind IN ({marks}) AND status IN ('queued', 'running', "
                              f"'cancelling')", tuple(kinds))
        for row in rows:
            self.finish(row["id"], "interrupted", "The studio stopped while this job ran. Start it again to resume.")
        return len(rows)
