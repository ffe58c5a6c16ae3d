"""Memory a model will take before it is loaded, from its config (or its preset's size): weights at the chosen
precision, the KV cache, the vision tower a text-only load leaves out, and what fits (engine.models.fit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import LoragError
from engine.imports import import_heavy
from engine.models.fit import GB, OVERHEAD, fit_summary, kv_bytes_per_1k, weights_bytes
from engine.models.loading import LoadOptions, ResolvedSource, dtype_name, import_stack, resolve_device, resolve_dtype


@dataclass
class MemoryEstimate:
    params: int                   # parameters that load (text-only for a vision-language checkpoint)
    weights_bytes: int            # the weights at the chosen precision
    kv_bytes_per_1k: int          # KV cache per 1000 tokens of context (full-attention layers only)
    available_bytes: int          # free memory on the chosen device now
    device: str
    note: str = ""
    vision_params: int = 0        # the vision tower of the checkpoint, not loaded

    def total_bytes(self, context_tokens: int = 4096) -> int:
        return int(self.weights_bytes * OVERHEAD + self.kv_bytes_per_1k * context_tokens / 1000)

    @property
    def fits(self) -> bool:
        return self.total_bytes() <= self.available_bytes

    def summary(self) -> str:
        text = (f"≈ {self.weights_bytes / GB:.2f} GB of weights ({self.params / 1e9:.2f} B parameters) "
                f"+ {self.kv_bytes_per_1k * 4 / GB:.2f} GB for a 4k-token context on {self.device}; "
                f"{self.available_bytes / GB:.1f} GB free now")
        verdict = "fits" if self.fits else "does NOT fit: choose 4-bit/8-bit or a smaller model"
        parts = [f"{text} — {verdict}."]
        if self.vision_params:
            parts.append(f"Text only: the vision tower ({self.vision_params / 1e9:.2f} B parameters, "
                         f"{weights_bytes(self.vision_params, 'bf16') / GB:.1f} GB in bf16) is not loaded.")
        parts.append("On this device: " + fit_summary(self.params, self.kv_bytes_per_1k, self.available_bytes))
        return " ".join(parts + ([self.note] if self.note else []))


def available_memory(device: str) -> int:
    import psutil

    if device == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    return int(psutil.virtual_memory().available)


def estimate_memory(resolved: ResolvedSource, options: LoadOptions) -> MemoryEstimate:
    """Memory the model will take with these options, from its config (no weights are read)."""
    import_stack()
    device = resolve_device(options.device)
    precision = options.quantization if options.quantization != "none" else \
        dtype_name(resolve_dtype(options.dtype, device))
    config = _config_for(resolved)
    note, vision = "", 0
    if config is not None:
        params, kv_per_token, vision = _count(config)
    elif resolved.preset is not None and resolved.preset.params_b:
        preset = resolved.preset
        params, kv_per_token = int((preset.text_params_b or preset.params_b) * 1e9), 0
        vision = round(max(0.0, preset.params_b - preset.text_params_b) * 1e9) if preset.text_params_b else 0
        note = "(from the preset's size; the exact figure shows once downloaded)"
    else:
        raise LoragError(f"The size of {resolved.source} is unknown until it is downloaded.",
                         key="models.size_unknown", params={"source": resolved.source})
    return MemoryEstimate(params=params, weights_bytes=weights_bytes(params, precision),
                          kv_bytes_per_1k=int(kv_per_token * 1000), available_bytes=available_memory(device),
                          device=device, note=note, vision_params=vision)


def _config_for(resolved: ResolvedSource):
    import_heavy()  # a first transformers import racing another thread's fails
    from transformers import AutoConfig

    folder = resolved.folder
    if folder is not None and (folder / "config.json").is_file():
        return AutoConfig.from_pretrained(folder, trust_remote_code=False)
    return None


def _count(config: Any) -> tuple[int, int, int]:
    """(parameters that load, KV-cache bytes per token in 16-bit, vision-tower parameters left out) of a config,
    from models built on the meta device. Linear-attention layers (Qwen3.5's Gated DeltaNet) hold no KV cache."""
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
        vision_config = getattr(config, "vision_config", None)
        vision = AutoModel.from_config(vision_config) if vision_config is not None else None
    params = sum(p.numel() for p in model.parameters())
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    kv_per_token = kv_bytes_per_1k(text) // 1000
    vision_params = sum(p.numel() for p in vision.parameters()) if vision is not None else 0
    return int(params), int(kv_per_token), int(vision_params)
