"""The training worker: `python -m engine.training.worker data/jobs/<id>/config.json [--resume]`.

Runs in its own process (and session, so it outlives the studio). It owns the job row while it runs: it marks it
running, writes progress, and finishes it as completed, cancelled or failed. SIGTERM means "cancel": stop at the
next step boundary after saving a checkpoint.

Under `accelerate launch` (several processes, engine.training.launch) every process runs this module with its RANK;
only rank 0 writes the job row, log.txt, metrics, state and the adapter. The other ranks train and log to
log.rank<N>.txt (their crashes still reach log.txt through the launcher's output).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path

from engine.errors import LoragError
from engine.jobs import Jobs
from engine.store import Store
from engine.training.jobfiles import JobFiles
from engine.training.launch import is_main, rank, world_size

log = logging.getLogger("lorag.training.worker")

OOM_HINT = "Out of memory: use a smaller batch size, a shorter max length, or 4-bit quantization (QLoRA)."
QUIET = {"HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false", "DO_NOT_TRACK": "1",
         "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
         "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}


def _logging(files: JobFiles) -> None:
    path = files.log if is_main() else files.folder / f"log.rank{rank()}.txt"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "urllib3", "filelock", "datasets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # bitsandbytes warns on import that an optional CPU kernel package is missing: harmless, and alarming in a log
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning)  # library deprecation notes, not the person's concern
    logging.captureWarnings(True)


def _is_oom(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return isinstance(exc, MemoryError) or "out of memory" in text or "outofmemory" in text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.training.worker")
    parser.add_argument("config", type=Path, help="data/jobs/<id>/config.json written by the studio")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    args = parser.parse_args(argv)
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)

    files = JobFiles(args.config.parent)
    _logging(files)  # before the heavy imports, so their warnings land in the job log with a time
    from transformers.utils import logging as hf_logging

    from engine.training.calibration import calibrate
    from engine.training.jobfiles import JobSpec
    from engine.training.trainer import run_job

    hf_logging.disable_progress_bar()
    spec = JobSpec(**json.loads(args.config.read_text()))
    store = Store(Path(spec.data_dir) / "lorag.sqlite")
    jobs = Jobs(store, Path(spec.data_dir) / "jobs")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if jobs.get(spec.job_id).status == "cancelling":
        stop.set()
    elif world_size() == 1:
        jobs.update(spec.job_id, status="running", pid=os.getpid())
    # several processes: the row keeps the launcher's pid (the studio watches and ends the run through it)
    log.info("worker %d started for job %s%s%s", os.getpid(), spec.job_id, " (resume)" if args.resume else "",
             f" as rank {rank()} of {world_size()}" if world_size() > 1 else "")
    try:
        outcome = calibrate(spec, files, jobs, stop) if spec.calibration else run_job(spec, files, jobs, stop,
                                                                                        args.resume)
    except LoragError as exc:
        log.error("%s", exc)
        if is_main():
            jobs.finish(spec.job_id, "failed", str(exc))
        return 1
    except BaseException as exc:  # noqa: B036 - the job row must say what happened, whatever it was
        log.error("%s", traceback.format_exc())
        if not is_main():
            return 1
        if _is_oom(exc):
            jobs.finish(spec.job_id, "failed", f"{OOM_HINT} ({type(exc).__name__})")
        elif stop.is_set() and isinstance(exc, KeyboardInterrupt):
            jobs.finish(spec.job_id, "cancelled", "Cancelled before training started.")
        else:
            jobs.finish(spec.job_id, "failed", f"Internal error: {exc!r}. See the job log.")
        return 1
    if not is_main():
        return 0
    if outcome.status == "cancelled" or stop.is_set() and outcome.status != "completed":
        jobs.finish(spec.job_id, "cancelled", outcome.message, outcome.result)
    else:
        jobs.finish(spec.job_id, outcome.status, outcome.message, outcome.result)
    log.info("%s", outcome.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
