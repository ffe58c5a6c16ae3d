"""Trainer callbacks run inside the worker: metrics.jsonl, state.json and the job row; cancel at a step boundary."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from transformers import TrainerCallback

from engine.jobs import Jobs
from engine.training.jobfiles import JobFiles, format_eta
from engine.training.launch import is_main

log = logging.getLogger(__name__)

ROW_EVERY_S = 1.0
# DPO / ORPO's own curves: reward margins and accuracies, log-probabilities, ORPO's two loss terms
PREFERENCE_KEYS = ("rewards/", "logps/", "log_odds_ratio", "nll_loss")
CANCEL_POLL_S = 2.0


class ProgressCallback(TrainerCallback):
    """Writes every log (train and eval) to metrics.jsonl and keeps state.json and the job row current."""

    def __init__(self, files: JobFiles, jobs: Jobs, job_id: str, device: str) -> None:
        self.files, self.jobs, self.job_id, self.device = files, jobs, job_id, device
        self.run_start = time.time()
        self.run_start_step = 0
        self.last_row = 0.0
        self.last_tokens: tuple[float, float] | None = None  # (time, num_tokens) at the previous train log
        self.tokens_per_s: float | None = None
        self.loss: float | None = None
        self.eval_loss: float | None = None
        self.last_eval_step: int | None = None
        self.cpu_start = time.process_time()
        self.cpu_s = 0.0  # CPU seconds of the training loop (all threads): a fair measure on a busy machine

    def on_train_begin(self, args, state, control, **kwargs):
        self.run_start, self.run_start_step = time.time(), state.global_step
        self.cpu_start = time.process_time()
        self._publish(state, force=True)

    def on_train_end(self, args, state, control, **kwargs):
        self.cpu_s = time.process_time() - self.cpu_start

    def eta(self, state) -> float | None:
        done = state.global_step - self.run_start_step
        if done <= 0 or not state.max_steps:
            return None
        return (time.time() - self.run_start) / done * (state.max_steps - state.global_step)

    def on_log(self, args, state, control, logs: dict[str, Any] | None = None, **kwargs):
        logs = logs or {}
        now = time.time()
        record: dict[str, Any] = {"step": state.global_step, "epoch": round(float(state.epoch or 0), 4), "time": now}
        if "loss" in logs:
            tokens = logs.get("num_tokens")
            if tokens is not None:
                since, before = self.last_tokens or (self.run_start, None)
                if before is not None and tokens > before and now > since:
                    self.tokens_per_s = (tokens - before) / (now - since)
                elif before is None and now > since:
                    self.tokens_per_s = None  # the first log of a run mixes in start-up time
                self.last_tokens = (now, tokens)
            self.loss = float(logs["loss"])
            record.update(loss=self.loss, learning_rate=logs.get("learning_rate"), grad_norm=logs.get("grad_norm"),
                          tokens_per_s=self.tokens_per_s, num_tokens=tokens)
            record.update({k: v for k, v in logs.items() if k.startswith(PREFERENCE_KEYS)})
            speed = f" · {self.tokens_per_s:.0f} tokens/s" if self.tokens_per_s else ""
            log.info("step %d/%d · loss %.4f · lr %.3g · grad norm %.3g%s", state.global_step, state.max_steps,
                     self.loss, logs.get("learning_rate") or 0, logs.get("grad_norm") or 0, speed)
        elif "eval_loss" in logs:
            self.eval_loss = float(logs["eval_loss"])
            self.last_eval_step = state.global_step
            record.update(eval_loss=self.eval_loss)
            record.update({k: v for k, v in logs.items() if k.startswith(tuple("eval_" + p for p in PREFERENCE_KEYS))})
            log.info("step %d/%d · eval loss %.4f", state.global_step, state.max_steps, self.eval_loss)
        else:
            return
        self.files.append_metric(record)
        self._publish(state, force=True)

    def on_step_end(self, args, state, control, **kwargs):
        self._publish(state)

    def _publish(self, state, force: bool = False) -> None:
        now = time.time()
        if not force and now - self.last_row < ROW_EVERY_S:
            return
        self.last_row = now
        eta = self.eta(state)
        self.files.write_state({"step": state.global_step, "max_steps": state.max_steps,
                                "epoch": float(state.epoch or 0), "eta_s": eta, "tokens_per_s": self.tokens_per_s,
                                "loss": self.loss, "eval_loss": self.eval_loss, "device": self.device,
                                "updated_at": now})
        parts = [f"Step {state.global_step}/{state.max_steps}"]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        if self.tokens_per_s:
            parts.append(f"{self.tokens_per_s:.0f} tokens/s")
        parts.append(f"ETA {format_eta(eta)}")
        progress = state.global_step / state.max_steps if state.max_steps else 0.0
        self.jobs.update(self.job_id, progress=min(1.0, progress), message=" · ".join(parts))


class CancelCallback(TrainerCallback):
    """Stops at the next step boundary after SIGTERM (or a 'cancelling' job row), saving a checkpoint first."""

    def __init__(self, stop: threading.Event, jobs: Jobs, job_id: str) -> None:
        self.stop, self.jobs, self.job_id = stop, jobs, job_id
        self.last_poll = 0.0
        self.stopped_at: int | None = None

    def requested(self, args=None) -> bool:
        """Asked for here or on any other process of a multi-process run: called on every rank at the same points,
        so they stop at the same step (a rank that went on would wait for the others in its next all-reduce)."""
        if is_main() and not self.stop.is_set() and time.time() - self.last_poll > CANCEL_POLL_S:
            self.last_poll = time.time()
            if self.jobs.get(self.job_id).status == "cancelling":
                self.stop.set()
        if any_rank(self.stop.is_set(), args):
            self.stop.set()
        return self.stop.is_set()

    def on_train_begin(self, args, state, control, **kwargs):
        if self.requested(args):
            control.should_training_stop = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested(args) and self.stopped_at is None:
            log.info("cancel requested: saving a checkpoint at step %d and stopping", state.global_step)
            self.stopped_at = state.global_step
            control.should_save = True
            control.should_training_stop = True


def any_rank(flag: bool, args=None) -> bool:
    """`flag` or'ed over the processes of a multi-process run (`flag` itself in a single-process one)."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return flag
    device = getattr(args, "device", None) if dist.get_backend() == "nccl" else torch.device("cpu")
    value = torch.tensor([int(flag)], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())
