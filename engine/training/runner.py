"""Start, watch, cancel and resume training workers from the studio process.

A worker is `python -m engine.training.worker <config>` in its own session (it survives the studio; a new studio
re-attaches by the job row's pid). With several processes the job row's pid is `accelerate launch`'s, whose workers
run in sessions of their own (engine.training.launch): a cancel reaches them through the job row (each polls it and
they stop at the same step), and a sweep kills every process of the job by its command line. A worker that died
without finishing its row (killed, out of memory) is found here and its job marked failed or interrupted, with its
last log lines and a hint.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.jobs import Job, Jobs
from engine.training.jobfiles import JobFiles
from engine.training.launch import LAUNCHER_MODULE, WORKER_MODULE, worker_command

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
KIND = "training"
CALIBRATION_KIND = "training-calibration"   # a few timed steps for the estimate (engine.training.calibration)
CANCEL_GRACE_S = 180.0
DIED_HINT = ("If it ran out of memory: use a smaller batch size, a shorter max length, or 4-bit quantization "
             "(QLoRA).")


def _proc_state(pid: int) -> str | None:
    """The /proc state letter of `pid` (R, S, Z...), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def worker_alive(pid: int | None, job_id: str) -> bool:
    """Is `pid` still our worker for `job_id` (not a zombie, not a recycled pid)?"""
    if not pid:
        return False
    state = _proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return WORKER_MODULE in cmdline and job_id in cmdline


def job_processes(job_id: str) -> list[int]:
    """Every live process running a worker of `job_id`: the worker, or the launcher and each of its workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and worker_alive(int(entry.name), job_id):
            found.append(int(entry.name))
    return found


def _leads_group(pid: int) -> bool:
    """Is `pid` its process group's leader (a session started for a worker)? A leader that is gone still names its
    group, whose members may live on."""
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return True


def _is_launcher(pid: int) -> bool:
    try:
        return LAUNCHER_MODULE.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class WorkerRunner:
    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def files(self, job_id: str) -> JobFiles:
        return JobFiles(self.jobs.folder(job_id))

    def spawn(self, job_id: str, resume: bool = False) -> int:
        files = self.files(job_id)
        spec = files.read_json(files.config)
        processes = int(spec.get("config", {}).get("processes", 1) or 1)
        command = worker_command(files.config.resolve(), processes, spec.get("device", "cpu"),
                                 spec.get("config", {}).get("distributed", "ddp"), resume, sys.executable)
        if processes > 1:
            self.jobs.append_log(job_id, f"{processes} training processes: python {' '.join(command[1:])}")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
        with files.log.open("ab") as out:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        with self._lock:
            self._procs[job_id] = proc
        self.jobs.start(job_id, pid=proc.pid)
        self.jobs.update(job_id, message="Starting: loading the model and the data…")
        log.info("training worker %d started for %s: %s", proc.pid, job_id, " ".join(command))
        return proc.pid

    def alive(self, job: Job) -> bool:
        with self._lock:
            proc = self._procs.get(job.id)
        if proc is not None and proc.pid == job.pid:
            return proc.poll() is None
        return worker_alive(job.pid, job.id)

    def returncode(self, job_id: str) -> int | None:
        with self._lock:
            proc = self._procs.get(job_id)
        return proc.poll() if proc is not None else None

    def check(self, job: Job) -> Job:
        """Mark a running training job whose worker is gone; return the fresh row."""
        if job.kind not in (KIND, CALIBRATION_KIND) or job.status not in ("running", "cancelling") or self.alive(job):
            return job
        time.sleep(0.2)  # the worker may be writing its final status right now
        job = self.jobs.get(job.id)
        if job.status not in ("running", "cancelling"):
            return job
        self.sweep(job)
        self._mark_dead(job)
        return self.jobs.get(job.id)

    def _mark_dead(self, job: Job) -> None:
        files = self.files(job.id)
        code = self.returncode(job.id)
        tail = self.jobs.log_tail(job.id, 12)
        state = files.read_state()
        where = f" at step {state.get('step')} of {state.get('max_steps')}" if state.get("step") is not None else ""
        how = f"killed by signal {-code}" if code is not None and code < 0 else \
            f"exit code {code}" if code is not None else "the process is gone"
        checkpoint = files.last_checkpoint()
        if job.status == "cancelling":
            self.jobs.finish(job.id, "cancelled", f"Cancelled{where}." + (
                f" Resume continues from {checkpoint.name}." if checkpoint else ""),
                {"log_tail": tail, "checkpoint": str(checkpoint or "")})
            return
        status = "interrupted" if checkpoint else "failed"
        resume = f" Resume continues from {checkpoint.name}." if checkpoint else " No checkpoint was saved yet."
        self.jobs.append_log(job.id, f"The training process stopped unexpectedly ({how}){where}.")
        self.jobs.finish(job.id, status, f"The training process stopped unexpectedly ({how}){where}.{resume} "
                                         f"{DIED_HINT}", {"log_tail": tail, "checkpoint": str(checkpoint or "")})

    def sweep(self, job: Job) -> None:
        """Kill whatever is left of the job: the worker's process group (its children) and, in a multi-process run,
        each worker's own group (accelerate's launcher starts them in sessions of their own): no orphans."""
        groups = [pid for pid in job_processes(job.id) if _leads_group(pid)]
        if job.pid and _leads_group(job.pid):
            groups.append(job.pid)
        for pgid in dict.fromkeys(groups):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        with self._lock:
            proc = self._procs.get(job.id)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def cancel(self, job: Job, grace: float = CANCEL_GRACE_S) -> None:
        """Ask the worker to stop after a checkpoint; kill its process group if it does not within `grace`."""
        self.jobs.request_cancel(job.id)
        if not job.pid or not self.alive(job):
            self.check(self.jobs.get(job.id))
            return
        if not _is_launcher(job.pid):  # several processes: each reads the 'cancelling' row (no signal to the launcher,
            try:                        # whose agent would stop the workers before they save a checkpoint)
                os.kill(job.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        threading.Thread(target=self._finish_cancel, args=(job, grace), daemon=True,
                         name=f"cancel-{job.id}").start()

    def _finish_cancel(self, job: Job, grace: float) -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and self.alive(job):
            time.sleep(0.3)
        if self.alive(job):
            log.warning("worker %s did not stop within %.0f s: killing it", job.pid, grace)
        self.sweep(job)
        self.check(self.jobs.get(job.id))

    def wait(self, job_id: str, timeout: float) -> Job:
        """Block until the job finishes (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.check(self.jobs.get(job_id))
            if not job.active:
                return job
            time.sleep(0.3)
        return self.jobs.get(job_id)
