"""Which layers get LoRA, and what that costs, before any weight is read.

`all-linear` is peft's own choice (every nn.Linear but the output head): on Qwen3.5 that includes the Gated DeltaNet
projections (linear_attn.in_proj_qkv / in_proj_z / in_proj_a / in_proj_b / out_proj) beside the attention and MLP
projections. MoE experts are no nn.Linear: their weights are 3-D parameters (experts.gate_up_proj, experts.down_proj)
that peft reaches through `target_parameters`, so `all-linear` adds those too, when LoRA dropout is 0 (peft's
expert LoRA refuses dropout; with dropout the experts are left out and the plan says so). The plan is counted by
peft itself on a model built on the meta device from the base's config, so its figures are the ones training has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engine.imports import import_heavy
from engine.models.fit import GB, kv_bytes_per_1k, training_bytes

ALL_LINEAR = "all-linear"


def expert_parameters(model: Any) -> list[str]:
    """peft target_parameters for the MoE experts of `model`: 'mlp.experts.gate_up_proj'-style suffixes of the 3-D
    parameters held directly by modules named 'experts'."""
    found = set()
    for name, module in model.named_modules():
        if name.split(".")[-1] != "experts":
            continue
        owner = ".".join(name.split(".")[-2:])
        for pname, param in module.named_parameters(recurse=False):
            if param.dim() == 3:
                found.add(f"{owner}.{pname}")
    return sorted(found)


def lora_config(config: Any, model: Any):
    """peft's LoraConfig for a TrainingConfig on `model` (experts included with all-linear)."""
    from peft import LoraConfig

    targets = config.target_list()
    experts = expert_parameters(model) if targets == ALL_LINEAR and not config.lora_dropout else []
    return LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, target_parameters=experts or None, task_type="CAUSAL_LM")


@dataclass
class LoraPlan:
    modules: dict[str, int]             # leaf name ('in_proj_qkv', 'experts.gate_up_proj') -> how many get LoRA
    trainable: int                      # LoRA parameters that train
    total: int                          # parameters of the model that loads (text-only)
    layer_types: dict[str, int] = field(default_factory=dict)   # linear_attention / full_attention -> layers
    memory: dict[str, int] = field(default_factory=dict)        # 'LoRA (bf16 base)' / 'QLoRA (4-bit base)' -> bytes
    note: str = ""

    def summary(self) -> str:
        kinds = ", ".join(f"{name} ×{count}" for name, count in sorted(self.modules.items()))
        layers = ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in sorted(self.layer_types.items()))
        text = (f"LoRA on {sum(self.modules.values())} modules ({kinds}): {self.trainable:,} parameters train, "
                f"{100 * self.trainable / max(1, self.total):.2f}% of {self.total / 1e9:.2f} B.")
        if layers:
            text += f" Layers: {layers}."
        if self.memory:
            text += " Memory: " + "; ".join(f"{k} ≈ {v / GB:.1f} GB" for k, v in self.memory.items()) + "."
        return f"{text} {self.note}".strip()


def _meta_model(base_config: Any):
    import_heavy()  # a first transformers import racing another thread's fails
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(base_config)


def lora_plan(base_config: Any, config: Any) -> LoraPlan:
    """What LoRA with `config` (a TrainingConfig) would touch on a base with `base_config`, counted by peft."""
    import torch
    from peft import get_peft_model

    model = _meta_model(base_config)
    total = sum(p.numel() for p in model.parameters())
    with torch.device("meta"):
        peft_model = get_peft_model(model, lora_config(config, model))
    modules = Counter(_target_name(name, module) for name, module in peft_model.named_modules()
                      if len(getattr(module, "lora_A", None) or ()))
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    text = base_config.get_text_config() if hasattr(base_config, "get_text_config") else base_config
    layer_types = Counter(getattr(text, "layer_types", None) or [])
    kv = kv_bytes_per_1k(text)
    memory = {"LoRA (bf16 base)": training_bytes(total, "bf16", kv, trainable),
              "QLoRA (4-bit base)": training_bytes(total, "4bit", kv, trainable)}
    note = ""
    if config.target_list() == ALL_LINEAR and config.lora_dropout and expert_parameters(model):
        note = ("The MoE experts get no LoRA: peft trains expert weights only with LoRA dropout 0 "
                "(set it to 0 to include them).")
    return LoraPlan(dict(modules), trainable, total, dict(layer_types), memory, note)


def _target_name(name: str, module: Any) -> str:
    """'in_proj_qkv', or 'experts.gate_up_proj' for peft's wrapper of an expert parameter."""
    parameter = getattr(module, "parameter_name", None)
    if parameter:
        return f"{name.replace('.base_layer', '').split('.')[-1]}.{parameter}"
    return name.split(".")[-1]
