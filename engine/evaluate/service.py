"""EvaluationService: evaluation sets, runs as jobs (start, resume, cancel) and their results."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.evaluate import report
from engine.evaluate.config import Cell, EvalConfig
from engine.evaluate.sets import EvalSet, EvalSets
from engine.jobs import Job

# The engine.studio.Studio facade: an evaluation drives the models, adapters and collections together. Not
# imported, since the studio builds this service (no import cycle).
Studio = Any

log = logging.getLogger(__name__)

KIND = "evaluate"
GENERATE_KIND = "evalgen"
RESTART_NOTE = "Resumed after a restart"


@dataclass
class RunResults:
    job: Job
    config: EvalConfig
    evalset: EvalSet
    rows: list[report.CellRow]
    answers: list[dict[str, Any]]
    compared_with: str = ""
    deltas: dict[str, dict[str, float]] | None = None

    @property
    def cells(self) -> list[Cell]:
        return self.config.cells()

    def question(self, question_id: str) -> list[dict[str, Any]]:
        match = next((q for q in self.evalset.questions if q.id == question_id), None)
        if match is None:
            raise LoragError(f"The set has no question {question_id!r}.",
                             key="evaluate.no_question", params={"question_id": question_id})
        return report.question_view(match.to_dict(), self.cells, self.answers)

    def csv(self) -> str:
        return report.to_csv({q.id: q.to_dict() for q in self.evalset.questions}, self.answers)

    def json(self) -> str:
        return report.to_json(self.config.to_dict(), self.rows, self.answers)

    def to_dict(self) -> dict[str, Any]:
        """The JSON export's content, with the earlier run of the same set it is compared with (the API's reply)."""
        return {**report.to_dict(self.config.to_dict(), self.rows, self.answers),
                "compared_with": self.compared_with or None, "deltas": self.deltas}


class EvaluationService:
    def __init__(self, studio: "Studio") -> None:
        self.studio = studio
        self.store = studio.store
        self.jobs = studio.jobs
        self.sets = EvalSets(studio.settings.path("evalsets"), studio.settings.max_upload_mb << 20)
        self.stopped = self._mark_dead_runs()   # the runs the last process left unfinished (resume_after_restart)

    # --- sets -----------------------------------------------------------------------------------------
    def upload(self, path: str | Path, filename: str | None = None) -> EvalSet:
        return self.sets.add(Path(path), filename)

    def list_sets(self) -> list[EvalSet]:
        return self.sets.list()

    def delete_set(self, sha256: str) -> None:
        if any(j.active and j.config.get("set") == sha256 for j in self.runs()):
            raise LoragError("A run is using this evaluation set; cancel it first.", key="evaluate.set_in_use")
        self.sets.delete(sha256)

    # --- runs -----------------------------------------------------------------------------------------
    def runs(self) -> list[Job]:
        return self.jobs.list(KIND)

    def start(self, config: EvalConfig | dict[str, Any], owner: str = "") -> Job:
        config = config if isinstance(config, EvalConfig) else EvalConfig.from_dict(config)
        evalset = self.sets.get(config.validate().set)
        self._check_cells(config)
        self._pin_model(config)
        title = f"Evaluate {evalset.filename}: {len(config.cells())} cell(s) × {len(evalset.questions)} questions"
        job = self.jobs.create(KIND, title, config=config.to_dict(), owner=owner)
        return self._launch(job, config, evalset)

    def _check_cells(self, config: EvalConfig) -> None:
        for adapter in filter(None, config.adapters):
            self.studio.adapters.get(adapter)
        for collection in filter(None, config.collections):
            self.studio.rag.collection(collection)

    def _pin_model(self, config: EvalConfig) -> None:
        """'' (or the loaded model's name) becomes the loaded model's source, so that a run resumed after a
        restart, when nothing is loaded yet, loads the model it started with."""
        models = self.studio.started_models()
        current = models.current if models is not None else None
        if current is not None and config.base_model in ("", current.name):
            config.base_model = current.source

    def _launch(self, job: Job, config: EvalConfig, evalset: EvalSet, note: str = "") -> Job:
        from engine.evaluate.run import run_matrix

        self.jobs.run_in_thread(job, lambda ctx: run_matrix(self.studio, job.id, config, evalset, ctx, note))
        return self.jobs.get(job.id)

    def resume(self, job_id: str, note: str = "") -> Job:
        """Go on with a stopped run on the same job; `note` starts each of its messages (why it goes on)."""
        job = self.run(job_id)
        if job.active:
            raise LoragError("This run is still going.", key="evaluate.run_going")
        if job.status == "completed":
            raise LoragError("This run has finished; start a new one to answer again.", key="evaluate.run_finished")
        config = EvalConfig.from_dict(job.config)
        return self._launch(job, config, self.sets.get(config.set), note)

    def resume_after_restart(self) -> list[Job]:
        """The runs the last process left unfinished go on by themselves where they stopped (finished answers
        are kept); each one's message says it was resumed after a restart. One that cannot go on (its set was
        deleted) stays interrupted, with the reason."""
        resumed = []
        for job_id in self.stopped:
            try:
                resumed.append(self.resume(job_id, RESTART_NOTE))
            except LoragError as exc:
                self.jobs.update(job_id, message=f"Not resumed after the restart: {exc}")
        self.stopped = []
        if resumed:
            log.warning("resumed %d evaluation run(s) a restart had stopped", len(resumed))
        return resumed

    def resumable(self, config: EvalConfig) -> Job | None:
        """The latest run of exactly this config that stopped before its end (the command line resumes it)."""
        wanted = config.to_dict()
        return next((j for j in self.runs() if j.config == wanted and j.status in ("interrupted", "cancelled",
                                                                                   "failed")), None)

    def cancel(self, job_id: str) -> Job:
        self.run(job_id)
        job = self.jobs.request_cancel(job_id)
        models = self.studio.started_models()
        if models is not None:   # stop the answer being written, not only the next one
            models.stop(f"eval-{job_id}")
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        return self.jobs.wait(job_id, timeout)

    def run(self, job_id: str) -> Job:
        """The evaluation run `job_id` (LoragError when there is none)."""
        job = self.jobs.get(job_id)
        if job.kind != KIND:
            raise LoragError(f"{job_id} is not an evaluation run.",
                             key="evaluate.not_eval_run", params={"job_id": job_id})
        return job

    def _mark_dead_runs(self) -> list[str]:
        """Runs whose process is gone (a restart, a killed command line) are interrupted: they can be resumed
        (their ids are returned); one that was being cancelled is cancelled."""
        stopped = []
        for job in self.runs():
            if not job.active or _alive(job.pid, job.id, self.jobs):
                continue
            if job.status == "cancelling":
                self.jobs.finish(job.id, "cancelled", "Cancelled (the process stopped while cancelling).")
                continue
            self.jobs.finish(job.id, "interrupted", "The process running this evaluation stopped. "
                             "Resume it to answer the remaining questions.")
            stopped.append(job.id)
        return stopped

    # --- data from documents ------------------------------------------------------------------------------
    def start_generation(self, collection: str, per_chunk: int = 1, max_chunks: int = 20, max_new_tokens: int = 96,
                         owner: str = "") -> Job:
        """A job: the loaded model writes question/answer rows from the collection's chunks (job.result["rows"])."""
        from engine.evaluate.generate import generate_rows

        if not 1 <= per_chunk <= 10 or not 1 <= max_chunks <= 10_000:
            raise LoragError("Ask for 1-10 questions per chunk and 1-10000 chunks.", key="evaluate.bad_generate_counts")
        current = self.studio.rag.collection(collection)
        if self.studio.models.current is None:
            raise LoragError("Load a model first: it writes the questions.", hint="Load one in the Models tab.",
                             key="evaluate.generate_needs_model", hint_key="models.load_one")
        job = self.jobs.create(GENERATE_KIND, f"Questions from {current.name}", owner=owner,
                               config={"collection": current.name, "per_chunk": per_chunk, "max_chunks": max_chunks})
        self.jobs.run_in_thread(job, lambda ctx: {"rows": generate_rows(
            self.studio, current.name, per_chunk, max_chunks, max_new_tokens, ctx)})
        return self.jobs.get(job.id)

    def save_generated(self, rows: list[dict[str, Any]], name: str, mode: str = "eval", holdout: float = 0.2,
                       seed: int = 0) -> dict[str, str]:
        """Rows (as generated, or as the person edited them) -> an evaluation set, a training dataset, or both."""
        from engine.evaluate.generate import save_rows

        return save_rows(self.studio, rows, name, mode, holdout, seed)

    # --- results -------------------------------------------------------------------------------------
    def answers(self, job_id: str) -> list[dict[str, Any]]:
        return self.store.all("SELECT * FROM eval_answers WHERE run_id = ? ORDER BY created_at", (job_id,))

    def results(self, job_id: str) -> RunResults:
        job = self.run(job_id)
        config = EvalConfig.from_dict(job.config)
        evalset = self.sets.get(config.set)
        answers = self.answers(job_id)
        rows = report.table(config.cells(), answers)
        results = RunResults(job, config, evalset, rows, answers)
        earlier = next((j for j in self.runs() if j.config.get("set") == config.set and j.status == "completed"
                        and j.created_at < job.created_at), None)
        if earlier is not None:
            old = EvalConfig.from_dict(earlier.config)
            results.compared_with = earlier.id
            results.deltas = report.compare(rows, report.table(old.cells(), self.answers(earlier.id)))
        return results


def _alive(pid: int | None, job_id: str, jobs: Any) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return jobs.running_here(job_id)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
