"""What is loaded: the records handed out (LoadedModel, UnloadReport), the live objects behind them (Loaded), and
the memory they hold."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

from engine.adapters.meta import BaseFingerprint
from engine.models.remote import ENGINE_DEVICE
from engine.models.thinking import NONE


@dataclass
class LoadedModel:
    """What is loaded now (`studio.models.current`)."""

    name: str
    source: str                       # what was asked for: preset, hub id, folder or .gguf path
    folder: str                       # the local folder the weights came from
    device: str                       # 'cpu', 'cuda:0'
    dtype: str                        # bf16 | fp16 | fp32
    quantization: str                 # none | 8bit | 4bit
    attention: str
    fingerprint: BaseFingerprint
    params: int = 0
    memory_bytes: int = 0             # the weights' footprint in memory
    thinking: str = NONE              # none | switchable | always (see engine.models.thinking)
    has_chat_template: bool = True
    context_length: int = 0
    preset: str = ""                  # model preset name when it came from one
    generation_preset: str = "default"
    thinking_preset: str = ""         # generation preset for thinking mode ('' when none)
    switches: list[str] = field(default_factory=list)  # template switches: enable/preserve_thinking, reasoning_effort
    load_seconds: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.device == ENGINE_DEVICE:
            return f"{self.name} (on the engine at {self.folder})"
        quant = f" {self.quantization}" if self.quantization != "none" else ""
        return f"{self.name} ({self.dtype}{quant}, {self.device}, {self.memory_bytes / 1e9:.2f} GB)"


@dataclass
class UnloadReport:
    name: str
    ram_freed_bytes: int
    gpu_freed_bytes: int

    def summary(self) -> str:
        text = f"Unloaded {self.name}: {self.ram_freed_bytes / 1e6:.0f} MB of RAM freed"
        if self.gpu_freed_bytes:
            text += f", {self.gpu_freed_bytes / 1e6:.0f} MB of GPU memory freed"
        return text + "."


class Loaded:
    """The live objects behind LoadedModel (never handed out)."""

    def __init__(self, info: LoadedModel, model: Any, tokenizer: Any, host: Any) -> None:
        self.info = info
        self.model = model
        self.tokenizer = tokenizer
        self.host = host


def memory_now() -> tuple[int, int]:
    import psutil

    ram = psutil.Process().memory_info().rss
    gpu = 0
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.memory_allocated()
    except ImportError:
        pass
    return ram, gpu


def release_memory() -> None:
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:
        pass
    try:  # glibc keeps freed heap pages; hand them back so the freed memory shows
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
