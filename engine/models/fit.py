"""What fits on the GPU before anything is loaded: chat at bf16 / 8-bit / 4-bit, LoRA and QLoRA training.

Figures are estimates from the parameter count (and the KV cache of the full-attention layers only: Qwen3.5's
Gated DeltaNet layers keep a fixed-size state instead of a cache that grows with the context). Training adds the
LoRA weights with their gradients and AdamW states in fp32 (16 bytes a parameter) and an allowance for activations
with gradient checkpointing. A vision-language checkpoint loads text-only, so its vision tower is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GB = 1e9
BYTES_PER_PARAM = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "8bit": 1.06, "4bit": 0.56}
OVERHEAD = 1.1                  # CUDA context, allocator slack, buffers
LORA_SHARE = 0.004              # LoRA r=16 on all linear layers: about 0.4% of a dense model's parameters
ACTIVATIONS_GB_7B = 1.0          # checkpointed activations of 1000 tokens on a 7B model (rough; grows with width)
TRAINING_CONTEXT = 2048


@dataclass
class FitLine:
    mode: str                   # "chat bf16", "LoRA (bf16 base)", ...
    precision: str              # bf16 | 8bit | 4bit
    needed_bytes: int
    fits: bool

    def text(self) -> str:
        mark = "fits" if self.fits else "does not fit"
        return f"{self.mode}: ≈ {self.needed_bytes / GB:.1f} GB ({mark})"


def weights_bytes(params: int, precision: str) -> int:
    return int(params * BYTES_PER_PARAM.get(precision, 2.0))


def chat_bytes(params: int, precision: str, kv_bytes_per_1k: int, context_tokens: int = 4096) -> int:
    return int(weights_bytes(params, precision) * OVERHEAD + kv_bytes_per_1k * context_tokens / 1000)


def training_bytes(params: int, precision: str, kv_bytes_per_1k: int, trainable: int = 0) -> int:
    """A LoRA (precision bf16) or QLoRA (4bit) run at batch 1 and a 2k-token context."""
    trainable = trainable or int(params * LORA_SHARE)
    activations = ACTIVATIONS_GB_7B * GB * TRAINING_CONTEXT / 1000 * max(1.0, params / 7e9) ** 0.5
    return int(weights_bytes(params, precision) * OVERHEAD + trainable * 16 + activations
               + kv_bytes_per_1k * TRAINING_CONTEXT / 1000)


def fit_lines(params: int, kv_bytes_per_1k: int, available_bytes: int) -> list[FitLine]:
    """Every way to run the model, with the memory each needs and whether it fits `available_bytes`."""
    lines = [FitLine(f"chat {p}", p, chat_bytes(params, p, kv_bytes_per_1k), False) for p in ("bf16", "8bit", "4bit")]
    lines += [FitLine("LoRA (bf16 base)", "bf16", training_bytes(params, "bf16", kv_bytes_per_1k), False),
              FitLine("QLoRA (4-bit base)", "4bit", training_bytes(params, "4bit", kv_bytes_per_1k), False)]
    for line in lines:
        line.fits = line.needed_bytes <= available_bytes
    return lines


def fit_summary(params: int, kv_bytes_per_1k: int, available_bytes: int) -> str:
    return "; ".join(line.text() for line in fit_lines(params, kv_bytes_per_1k, available_bytes)) + "."


def kv_bytes_per_1k(text_config: Any) -> int:
    """KV cache of 1000 tokens in 16-bit; linear-attention layers (Gated DeltaNet) keep no cache."""
    heads = getattr(text_config, "num_key_value_heads", None) or text_config.num_attention_heads
    head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // text_config.num_attention_heads
    types = getattr(text_config, "layer_types", None) or []
    cached = sum(1 for t in types if t != "linear_attention") if types else text_config.num_hidden_layers
    return 2 * cached * heads * head_dim * 2 * 1000
