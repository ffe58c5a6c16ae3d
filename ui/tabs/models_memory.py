"""The memory a model needs (MemoryEstimate.summary() of engine.models.memory) in the person's language, from the
engine's numbers; the estimate's own note stays as the engine writes it."""

from __future__ import annotations

from typing import Any

from engine.models.fit import GB, fit_lines, weights_bytes
from ui.i18n import say

MODES = {"LoRA (bf16 base)": "lora", "QLoRA (4-bit base)": "qlora"}


def mode_label(mode: str) -> str:
    if mode in MODES:
        return say(f"models.memory.mode_{MODES[mode]}")
    return say("models.memory.mode_chat", precision=mode[5:]) if mode.startswith("chat ") else mode


def fit_line_text(line: Any) -> str:
    mark = say("models.memory.fits" if line.fits else "models.memory.does_not_fit")
    return say("models.memory.line", mode=mode_label(line.mode), gb=f"{line.needed_bytes / GB:.1f}", mark=mark)


def memory_text(estimate: Any) -> str:
    """MemoryEstimate.summary()."""
    text = say("models.memory.needs", weights=f"{estimate.weights_bytes / GB:.2f}",
               params=f"{estimate.params / 1e9:.2f}", kv=f"{estimate.kv_bytes_per_1k * 4 / GB:.2f}",
               device=estimate.device, free=f"{estimate.available_bytes / GB:.1f}")
    verdict = say("models.memory.verdict_fits" if estimate.fits else "models.memory.verdict_does_not_fit")
    parts = [f"{text} — {verdict}."]
    if estimate.vision_params:
        parts.append(say("models.memory.vision", params=f"{estimate.vision_params / 1e9:.2f}",
                         gb=f"{weights_bytes(estimate.vision_params, 'bf16') / GB:.1f}"))
    lines = fit_lines(estimate.params, estimate.kv_bytes_per_1k, estimate.available_bytes)
    parts.append(say("models.memory.on_device", lines="; ".join(fit_line_text(line) for line in lines) + "."))
    return " ".join(parts + ([estimate.note] if estimate.note else []))
