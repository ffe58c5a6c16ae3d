"""lorag.json: what Lorag records beside every adapter (written by training and by imports, read by the registry).

An adapter folder is data/adapters/<name>/ with adapter_model.safetensors, adapter_config.json (peft's) and
lorag.json (this). `base` says which model it was made for, so a mismatch is refused with a message.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Phrase
from engine.fields import known_fields

META_FILE = "lorag.json"


@dataclass
class BaseFingerprint:
    """What must match between an adapter and the model it is loaded on."""

    model: str = ""               # where the base came from: hub id or folder (informative)
    architecture: str = ""        # e.g. Qwen3ForCausalLM
    hidden_size: int = 0
    num_hidden_layers: int = 0
    vocab_size: int = 0

    @classmethod
    def of(cls, model_config: Any, source: str = "") -> "BaseFingerprint":
        archs = getattr(model_config, "architectures", None) or [type(model_config).__name__]
        text = model_config.get_text_config() if hasattr(model_config, "get_text_config") else model_config
        return cls(model=source, architecture=archs[0], hidden_size=int(text.hidden_size),
                   num_hidden_layers=int(text.num_hidden_layers), vocab_size=int(text.vocab_size))

    def mismatch(self, other: "BaseFingerprint") -> str:
        """'' when compatible, else a sentence naming the first difference."""
        for name in ("architecture", "hidden_size", "num_hidden_layers", "vocab_size"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine and theirs and mine != theirs:
                return Phrase(f"{name} is {theirs} on the loaded model but the adapter needs {mine}",
                              "error.adapters.base_differs", {"name": name, "theirs": theirs, "mine": mine})
        return ""


@dataclass
class AdapterMeta:
    name: str
    base: BaseFingerprint = field(default_factory=BaseFingerprint)
    rank: int = 0
    alpha: float = 0.0
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=list)
    source: str = ""              # trained | imported-folder | imported-zip | imported-hub
    created_at: float = field(default_factory=time.time)
    dataset: dict[str, Any] = field(default_factory=dict)   # sha256, format, rows, file name
    params: dict[str, Any] = field(default_factory=dict)    # every training hyper-parameter
    metrics: dict[str, Any] = field(default_factory=dict)   # final train_loss, eval_loss, steps, tokens/s
    chat_template: str = ""       # the template the adapter was trained with (the tokenizer's own)
    job_id: str = ""

    def save(self, folder: Path) -> Path:
        path = Path(folder) / META_FILE
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, folder: Path) -> "AdapterMeta":
        data = json.loads((Path(folder) / META_FILE).read_text())
        data["base"] = BaseFingerprint(**data.get("base", {}))
        return cls(**known_fields(cls, data))
