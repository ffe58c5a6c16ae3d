"""A calibration run, inside the worker: the real set-up and a few real optimizer steps with the job's settings, timed.

The first step is a warm-up (lazy allocations, first kernels) and is left out of the per-step figures; the start-up
time runs from the job's start (the studio spawning the worker) to the trainer's start (model load, set-up), plus
what the warm-up step took beyond a normal one. The last step saves a checkpoint, which times a save. The result
lands in the estimate cache (engine.training.estimate).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from engine.jobs import Jobs
from engine.training.callbacks import CancelCallback
from engine.training.estimate import ESTIMATES, EstimateCache
from engine.training.jobfiles import JobFiles, JobSpec
from engine.training.launch import is_main

log = logging.getLogger(__name__)


class StepClock(TrainerCallback):
    """The wall time and the padded tokens seen at the end of every optimizer step, and when a save ended."""

    def __init__(self, jobs: Jobs, job_id: str) -> None:
        self.jobs, self.job_id = jobs, job_id
        self.steps: list[tuple[float, int]] = []
        self.saved_at: float | None = None
        self.began_at: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.began_at = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append((time.time(), int(state.num_input_tokens_seen or 0)))
        if is_main():
            self.jobs.update(self.job_id, progress=state.global_step / max(1, state.max_steps),
                             message=f"Calibrating: step {state.global_step}/{state.max_steps}")

    def on_save(self, args, state, control, **kwargs):
        self.saved_at = time.time()


def measure(clock: StepClock, started_at: float) -> dict[str, Any]:
    """Seconds per step and per padded token over the steps after the first; start-up; one checkpoint save."""
    (first_t, first_n), (last_t, last_n) = clock.steps[0], clock.steps[-1]
    measured = len(clock.steps) - 1
    s_per_step = (last_t - first_t) / measured
    per_token = (last_t - first_t) / (last_n - first_n) if last_n > first_n else None
    began = clock.began_at or started_at
    warm_up = max(0.0, first_t - began - (first_n * per_token if per_token else s_per_step))
    return {"steps": measured, "s_per_step": s_per_step, "s_per_padded_token": per_token,
            "padded_tokens_per_step": (last_n - first_n) / measured,
            "startup_s": max(0.0, began - started_at) + warm_up,  # a fast first step never hides the load time
            "save_s": max(0.0, clock.saved_at - last_t) if clock.saved_at else 0.0}


def calibrate(spec: JobSpec, files: JobFiles, jobs: Jobs, stop: threading.Event):
    from engine.training.trainer import Outcome, build_trainer, load_rows

    steps = int(spec.calibration["steps"]) + 1
    spec.config = {**spec.config, "max_steps": steps, "save_steps": steps, "logging_steps": steps}
    started_at = jobs.get(spec.job_id).started_at or time.time()
    config, tokenizer, prepared = load_rows(spec)
    prepared.eval = []  # the same training rows as the real run, without evaluations between the timed steps
    clock = StepClock(jobs, spec.job_id)
    if is_main():
        jobs.update(spec.job_id, message="Calibrating: loading the model…")
    trainer = build_trainer(spec, config, files, prepared, tokenizer, [clock, CancelCallback(stop, jobs, spec.job_id)])
    try:
        trainer.train()
        trainer.accelerator.wait_for_everyone()  # every process is done with the checkpoint before it goes
    finally:
        if is_main():
            shutil.rmtree(files.checkpoints, ignore_errors=True)
    if stop.is_set() or len(clock.steps) < steps:
        return Outcome("cancelled", "Calibration cancelled.", {})
    result = measure(clock, started_at)
    if not is_main():
        return Outcome("completed", "", {})
    path = EstimateCache(Path(spec.data_dir) / ESTIMATES).put(spec.calibration["key"], result, spec.job_id)
    log.info("calibration: %.2f s per step, start-up %.1f s, save %.1f s -> %s", result["s_per_step"],
             result["startup_s"], result["save_s"], path)
    return Outcome("completed", f"Calibrated: {result['s_per_step']:.2f} s per step after a start-up of "
                                f"{result['startup_s']:.0f} s.", {"calibration": result, "cache": str(path)})
