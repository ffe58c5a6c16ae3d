"""The Training tab's estimate (Estimate.summary() of engine.training.estimate) in the person's language: tokens,
memory, duration. Plain text from the engine's numbers; the processes note stays as the engine writes it."""

from __future__ import annotations

import time
from typing import Any

from engine.models.fit import GB
from engine.training.jobfiles import format_eta
from ui.i18n import say

PARTS = (("startup_s", "startup"), ("train_s", "train"), ("eval_s", "eval"), ("save_s", "save"))


def tokens_text(plan: Any) -> str:
    """TokenPlan.summary()."""
    return say("training.estimate.tokens", tokens=f"{plan.run_tokens:,}", steps=plan.steps, epochs=f"{plan.epochs:.2g}",
               rows=plan.rows, trained=f"{plan.run_trained_tokens:,}", epoch_tokens=f"{plan.tokens:,}",
               epoch_trained=f"{plan.trained_tokens:,}")


def fit_text(fit: Any) -> str:
    """FitLine.text()."""
    mark = say("training.estimate.fits" if fit.fits else "training.estimate.does_not_fit")
    gb = f"{fit.needed_bytes / GB:.1f}"
    if fit.processes <= 1:
        return say("training.estimate.fit_one", mode=fit.mode, gb=gb, mark=mark)
    if fit.device == "cpu":
        return say("training.estimate.fit_cpu", mode=fit.mode, gb=gb, processes=fit.processes,
                   total=f"{fit.total_bytes / GB:.1f}", mark=mark)
    return say("training.estimate.fit_gpus", mode=fit.mode, gb=gb, processes=fit.processes, mark=mark)


def estimate_text(estimate: Any) -> str:
    """Estimate.summary()."""
    lines = [tokens_text(estimate.tokens)]
    if estimate.fit:
        first = estimate.fit[0]
        where = " " + say("training.estimate.on_one_gpu") if estimate.device == "cuda" and first.processes > 1 else ""
        lines.append(say("training.estimate.memory", device=estimate.device,
                         lines="; ".join(fit_text(f) for f in estimate.fit),
                         free=f"{first.available_bytes / GB:.1f}", where=where))
        if first.processes > 1:
            lines.append(say("training.estimate.processes", note=estimate.processes_note))
    if estimate.duration_s is None:
        lines.append(say("training.estimate.calibrating" if estimate.job_id else "training.estimate.not_measured"))
        return "\n\n".join(lines)
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(estimate.measured_at or time.time()))
    origin = (say("training.estimate.calibrated_now") if estimate.source == "calibration"
              else say("training.estimate.from_cache", when=when))
    parts = " + ".join(f"{say(f'training.estimate.part_{label}')} {format_eta(estimate.parts.get(name, 0))}"
                       for name, label in PARTS if estimate.parts.get(name, 0) >= 0.5)
    lines.append(say("training.estimate.duration", eta=format_eta(estimate.duration_s), parts=parts, origin=origin))
    return "\n\n".join(lines)
