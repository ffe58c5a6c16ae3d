"""Adapters loaded at runtime through the API, so that a Lorag can be the engine of another (vLLM's
POST /v1/load_lora_adapter {"lora_name", "lora_path"} and POST /v1/unload_lora_adapter {"lora_name"}).

`load_runtime(adapters, models, name, path)` imports the folder at `path` into the registry as `name` (safetensors
only, a LoRA adapter_config.json: AdapterRegistry.import_folder), checks that it fits the loaded base and hot-swaps
it in at once, so a wrong base or broken weights are refused then, not at the first request; a refused folder
leaves nothing behind. Its lorag.json says source "runtime-loaded". It stays in data/adapters (listed after a
restart too) until `unload_runtime(adapters, name)` removes it; an adapter that was not loaded so (trained or
imported in the studio) is never removed through the API.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from engine.adapters.meta import AdapterMeta
from engine.errors import LoragError

log = logging.getLogger(__name__)

RUNTIME_SOURCE = "runtime-loaded"


def load_runtime(adapters: Any, models: Any, name: str, path: str) -> None:
    current = models.current
    if current is None:
        raise LoragError("No model is loaded.", hint="Load one in the Models tab.",
                         key="models.none_loaded", hint_key="models.load_one")
    folder = Path(path).expanduser()
    if not folder.is_absolute() or not folder.is_dir():
        raise LoragError(f"There is no adapter folder {path} on the machine this server runs on.",
                         key="adapters.runtime_no_folder", params={"path": path})
    info = adapters.import_folder(folder, name, source=RUNTIME_SOURCE)
    try:
        meta = AdapterMeta.load(info.folder)
        meta.source = RUNTIME_SOURCE
        meta.save(info.folder)
        problem = adapters.check(name)
        if problem:
            raise LoragError(f"The adapter at {path} cannot run on {current.name}: {problem}",
                             key="adapters.runtime_incompatible",
                             params={"path": path, "model": current.name, "problem": problem})
        adapters.activate(name)
    except BaseException:
        adapters.delete(name)
        raise
    log.info("loaded adapter %s at runtime from %s", name, folder)


def unload_runtime(adapters: Any, name: str) -> None:
    info = adapters.get(name)
    if info.meta.source != RUNTIME_SOURCE:
        raise LoragError(f"The adapter {name!r} was not loaded through the API, so the API does not remove it "
                         "(delete it in the studio's Models tab).",
                         key="adapters.runtime_not_unloadable", params={"name": name})
    adapters.delete(name)
    log.info("unloaded adapter %s loaded at runtime", name)
