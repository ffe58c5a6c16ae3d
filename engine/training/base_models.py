"""Which base models the form offers, and the check that a choice really is a causal LM (no remote code)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from engine.errors import LoragError
from engine.imports import import_heavy
from engine.models.demo import DEMO_NAME, demo_gguf_path

log = logging.getLogger(__name__)

DEMO_CHOICE = f"demo:{DEMO_NAME}"


@dataclass
class ResolvedBase:
    source: str       # what from_pretrained gets: a folder or a hub id
    label: str        # what the person chose (recorded in the adapter's metadata)
    architecture: str


def base_choices(models_dir: Path) -> list[tuple[str, str]]:
    """(label, value) for the form: model folders under data/models, then the offline demo model."""
    choices = []
    folders = sorted(p for p in Path(models_dir).iterdir()   # hidden: a merge being written (engine.adapters.merge)
                     if (p / "config.json").is_file() and not p.name.startswith(".")) \
        if Path(models_dir).is_dir() else []
    for folder in folders:
        choices.append((folder.name, folder.name))
    if DEMO_NAME not in {f.name for f in folders}:
        try:
            demo_gguf_path()
            choices.append((f"{DEMO_NAME} (offline demo, prepared on first use)", DEMO_CHOICE))
        except LoragError:
            pass
    return choices


def _local_folder(choice: str, models_dir: Path) -> Path | None:
    direct = Path(models_dir) / choice
    if "/" not in choice and (direct / "config.json").is_file():
        return direct
    path = Path(os.path.expanduser(choice))
    if path.is_absolute() or choice.startswith("."):
        if not path.exists():
            raise LoragError(f"The folder {choice} does not exist.",
                             key="training.no_base_folder", params={"choice": choice})
        if not (path / "config.json").is_file():
            raise LoragError(f"{choice} is not a model folder: it has no config.json.",
                             key="training.base_not_model_folder", params={"choice": choice})
        return path
    return None


def resolve_base(choice: str, models_dir: Path) -> ResolvedBase:
    """Turn the form's choice into something from_pretrained loads, after checking it is a causal LM."""
    choice = (choice or "").strip()
    if not choice:
        raise LoragError("Pick a base model (or type a hub id or a local folder).", key="training.pick_base_model")
    if choice == DEMO_CHOICE:
        from engine.models.demo import import_demo_model

        folder = import_demo_model(Path(models_dir))
        return ResolvedBase(str(folder), DEMO_NAME, check_causal_lm(str(folder)))
    folder = _local_folder(choice, models_dir)
    source = str(folder) if folder is not None else choice
    return ResolvedBase(source, choice, check_causal_lm(source))


def check_causal_lm(source: str) -> str:
    """The architecture name when `source` holds a causal LM transformers knows; a LoragError otherwise."""
    folder = Path(source)
    if folder.is_dir():
        try:
            raw = json.loads((folder / "config.json").read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LoragError(f"{source}/config.json cannot be read: {exc}",
                             key="training.base_config_unreadable", params={"source": source, "exc": exc}) from None
        if raw.get("auto_map") and "AutoModelForCausalLM" in raw.get("auto_map", {}):
            raise LoragError(f"{source} needs its own Python code (trust_remote_code), which Lorag never runs.",
                             key="training.base_needs_remote_code", params={"source": source})
    import_heavy()  # a first transformers import racing another thread's fails
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except OSError:
        raise LoragError(f"Cannot find the model {source!r}: not a folder here, and the hub is not reachable "
                         "(or the id is wrong).", hint="Download it into data/models first, or give a local path.",
                         key="training.base_not_found", hint_key="training.base_not_found_hint",
                         params={"source": source}) \
            from None
    except ValueError as exc:
        raise LoragError(f"{source} is not a model transformers can load without remote code: {exc}",
                         key="training.base_not_loadable", params={"source": source, "exc": exc}) from None
    causal = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    archs = getattr(config, "architectures", None) or []
    if archs and all(a.endswith("ForConditionalGeneration") for a in archs):
        archs = []  # a vision-language checkpoint (Qwen3.5): its text model is trained, the vision tower not loaded
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or (archs and not causal & set(archs)):
        what = archs[0] if archs else config.model_type
        raise LoragError(f"{source} is a {what} model, not a causal language model (text generation).",
                         key="training.base_not_causal_lm", params={"source": source, "what": what})
    return archs[0] if archs else MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[config.model_type]
