"""Model presets: presets/models/*.yaml, one file per model people run (data only, no code).

Fields: label, family, hub_id, params_b (billions, approximate, as the hub lists the checkpoint), text_params_b (the
text model that loads, for vision-language checkpoints), context_length, thinking (none | switchable),
generation (default / thinking: names of presets/generation files), recommended (list of memory_gb, dtype,
quantization: the first line that fits the memory at hand wins), demo (true only for the offline demo model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.fields import known_fields
from engine.presets import load_preset, preset_names

KIND = "models"


@dataclass
class ModelPreset:
    name: str = field(metadata={"help": "File name without .yaml; what a person picks."})
    label: str = field(default="", metadata={"help": "What the dropdown shows."})
    family: str = field(default="", metadata={"help": "qwen2.5, qwen2.5-coder, qwen3, smollm2..."})
    hub_id: str = field(default="", metadata={"help": "Hugging Face repository id ('' for the demo model)."})
    params_b: float = field(default=0.0, metadata={"help": "Parameters in billions (approximate)."})
    text_params_b: float = field(default=0.0, metadata={"help": "Of those, the text model's (what loads: a "
                                                                   "vision-language checkpoint loads text-only)."})
    context_length: int = field(default=0, metadata={"help": "Native context length in tokens."})
    thinking: str = field(default="none", metadata={"help": "none | switchable (Qwen3's enable_thinking)."})
    generation: dict[str, str] = field(default_factory=dict,
                                       metadata={"help": "Generation preset names: default, thinking."})
    recommended: list[dict[str, Any]] = field(default_factory=list,
                                              metadata={"help": "memory_gb / dtype / quantization, best first."})
    demo: bool = field(default=False, metadata={"help": "The offline demo model (imported from GGUF)."})

    def recommend(self, available_gb: float) -> dict[str, Any]:
        """The best dtype / quantization that fits `available_gb` (the smallest one when none fits)."""
        for line in self.recommended:
            if float(line.get("memory_gb", 0)) <= available_gb:
                return dict(line)
        return dict(self.recommended[-1]) if self.recommended else {"dtype": "auto", "quantization": "none"}

    def generation_preset(self, thinking: bool = False) -> str:
        if thinking and "thinking" in self.generation:
            return self.generation["thinking"]
        return self.generation.get("default", "default")


def model_presets() -> dict[str, ModelPreset]:
    """All model presets by name: the demo first, then the Qwen families in file order."""
    presets = {}
    for name in preset_names(KIND):
        data = load_preset(KIND, name)
        presets[name] = ModelPreset(name=name, **known_fields(ModelPreset, data, skip=["name"]))
    return dict(sorted(presets.items(), key=lambda kv: (not kv[1].demo, kv[1].family, kv[1].params_b)))


def model_preset(name: str) -> ModelPreset | None:
    return model_presets().get(name)


def preset_for_hub_id(hub_id: str) -> ModelPreset | None:
    for preset in model_presets().values():
        if preset.hub_id and preset.hub_id.lower() == hub_id.lower():
            return preset
    return None
