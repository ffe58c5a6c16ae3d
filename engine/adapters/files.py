"""An adapter folder on disk: what it must hold, what it says about itself, and whether it fits a model.

data/adapters/<name>/ holds adapter_config.json (peft's), adapter_model.safetensors and lorag.json
(engine.adapters.meta). Pickled weights (.bin, .pt, .pkl) can run code when loaded: they are refused.
A folder without lorag.json (an adapter imported from elsewhere) gets its metadata from adapter_config.json.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.adapters.meta import META_FILE, AdapterMeta, BaseFingerprint
from engine.errors import LoragError, Phrase, Phrases

log = logging.getLogger(__name__)

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
KEPT_FILES = (CONFIG_FILE, WEIGHTS_FILE, META_FILE, "README.md")

ANOTHER_BASE = Phrase("another base model", "error.adapters.another_base")


@dataclass
class AdapterInfo:
    """One adapter as listed: its metadata, or why it is unusable."""

    name: str
    folder: Path
    meta: AdapterMeta
    size_bytes: int = 0
    error: str = ""                       # '' when the folder is a usable adapter
    resident: bool = False                # loaded on the current model right now
    compatible: bool | None = None        # against the loaded model; None when none is loaded
    reason: str = ""                      # why it is incompatible
    base_model: str = field(default="")   # the base it was made for (informative)

    @property
    def usable(self) -> bool:
        return not self.error and self.compatible is not False


def check_weights(folder: Path) -> None:
    """Refuse a folder whose weights are not safetensors."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file():
        raise LoragError(f"{folder.name} is not a LoRA adapter: it has no {CONFIG_FILE}.",
                         key="adapters.no_config", params={"name": folder.name, "config": CONFIG_FILE})
    if (folder / WEIGHTS_FILE).is_file():
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise LoragError(f"{folder.name} holds pickled weights ({', '.join(pickles)}), which can run code when "
                         "loaded: Lorag accepts adapters in safetensors only.",
                         hint="Convert it with peft: load it and save_pretrained(..., safe_serialization=True).",
                         key="adapters.pickled", hint_key="adapters.pickled_hint",
                         params={"name": folder.name, "pickles": ', '.join(pickles)})
    raise LoragError(f"{folder.name} has no {WEIGHTS_FILE}.",
                     key="adapters.no_weights", params={"name": folder.name, "weights": WEIGHTS_FILE})


def read_config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(folder) / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise LoragError(f"The adapter's {CONFIG_FILE} cannot be read: {exc}",
                         key="adapters.config_unreadable", params={"config": CONFIG_FILE, "exc": exc}) from exc
    if not isinstance(data, dict):
        raise LoragError(f"The adapter's {CONFIG_FILE} is not a JSON object.",
                         key="adapters.config_not_object", params={"config": CONFIG_FILE})
    peft_type = str(data.get("peft_type", "LORA")).upper()
    if peft_type != "LORA":
        raise LoragError(f"This is a {peft_type} adapter; Lorag hot-swaps LoRA adapters only.",
                         key="adapters.not_lora", params={"peft_type": peft_type})
    return data


def read_meta(folder: Path, name: str) -> AdapterMeta:
    """lorag.json when present, else what adapter_config.json tells (base unknown beyond its name)."""
    folder = Path(folder)
    if (folder / META_FILE).is_file():
        try:
            meta = AdapterMeta.load(folder)
            meta.name = name
            return meta
        except (ValueError, TypeError) as exc:
            log.warning("unreadable %s in %s: %s", META_FILE, folder, exc)
    return meta_from_config(read_config(folder), name, source="imported")


def meta_from_config(config: dict[str, Any], name: str, source: str) -> AdapterMeta:
    targets = config.get("target_modules") or []
    if isinstance(targets, str):
        targets = [targets]
    return AdapterMeta(name=name, base=BaseFingerprint(model=str(config.get("base_model_name_or_path") or "")),
                       rank=int(config.get("r") or 0), alpha=float(config.get("lora_alpha") or 0),
                       dropout=float(config.get("lora_dropout") or 0), target_modules=sorted(targets), source=source)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())


# --- compatibility with a loaded model -------------------------------------------------------------------
def incompatibility(meta: AdapterMeta, folder: Path, fingerprint: BaseFingerprint, model: Any = None) -> str:
    """'' when the adapter fits the loaded model; else a sentence saying which base it needs and why."""
    reason = meta.base.mismatch(fingerprint)
    if not reason and model is not None:
        reason = _shape_mismatch(Path(folder), model)
    if not reason:
        return ""
    needs = meta.base.model or meta.base.architecture or ANOTHER_BASE
    hidden, vocab = meta.base.hidden_size, meta.base.vocab_size
    details = [meta.base.architecture,
               Phrase(f"hidden size {hidden}", "error.adapters.hidden_size", {"size": hidden}) if hidden else "",
               Phrase(f"vocabulary {vocab}", "error.adapters.vocabulary", {"size": vocab}) if vocab else ""]
    details_text = Phrases([d for d in details if d], ", ")
    facts = {"name": meta.name, "needs": needs, "details": details_text, "reason": reason,
             "loaded": fingerprint.model or fingerprint.architecture}
    if details_text:
        return Phrase(f"The adapter {meta.name!r} was made for {needs} ({details_text}), not for the loaded "
                      f"{facts['loaded']}: {reason}.", "error.adapters.made_for_detailed", facts)
    return Phrase(f"The adapter {meta.name!r} was made for {needs}, not for the loaded {facts['loaded']}: {reason}.",
                  "error.adapters.made_for", facts)


def _shape_mismatch(folder: Path, model: Any) -> str:
    """Compare the LoRA matrices' shapes with the layers they attach to (works without lorag.json)."""
    from safetensors import safe_open

    base = getattr(model, "get_base_model", lambda: model)()
    with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as weights:
        for key in weights.keys():
            for part, axis in ((".lora_A.", 1), (".lora_B.", 0)):
                if part not in key:
                    continue
                # MoE expert LoRA (peft target_parameters) nests one wrapper per parameter: '.experts.base_layer'
                module_name = key.split(part)[0].removeprefix("base_model.model.").replace(".base_layer", "")
                shape = weights.get_slice(key).get_shape()
                expected = _module_dim(base, module_name, "in" if axis == 1 else "out")
                if expected is None:
                    return Phrase(f"it changes a layer {module_name!r} that this model does not have",
                                  "error.adapters.layer_missing", {"layer": module_name})
                if expected and shape[axis] != expected:
                    side = "input" if axis == 1 else "output"
                    return Phrase(f"layer {module_name} has {side} size {expected} here but {shape[axis]} in the "
                                  "adapter", f"error.adapters.layer_{side}_differs",
                                  {"layer": module_name, "here": expected, "there": shape[axis]})
    return ""


def _module_dim(model: Any, name: str, side: str) -> int | None:
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return None
    while hasattr(module, "base_layer"):  # a layer wrapped by resident adapters (experts: one wrapper a parameter)
        module = module.base_layer
    if any(p.dim() == 3 for p in module.parameters(recurse=False)):
        return 0  # MoE experts: the LoRA shape depends on which expert parameter it wraps; peft checks it
    if side == "in":
        return int(getattr(module, "in_features", 0) or getattr(module, "num_embeddings", 0) or 0)
    return int(getattr(module, "out_features", 0) or getattr(module, "embedding_dim", 0) or 0)
