"""The model ModelService has on an OpenAI-compatible engine (--engine-url) instead of in memory.

"Loading" an engine model checks that the engine serves it and records it; nothing moves into this process.
Continuing a reply is not offered on an engine model yet. Its thinking mode is what the engine says (a Lorag
engine says it in /v1/models); an engine that does not say (vLLM, SGLang) counts as switchable: the person may
switch thinking, and the engine's template reads enable_thinking or ignores it.

Lorag's adapters run there as the engine's own LoRA models: a Lorag adapter `name` is usable when the
engine lists a LoRA model of the loaded base named `name` or `<base>@name` (vLLM `--lora-modules name=path`,
or another Lorag's adapters). An adapter of this studio that the engine does not list is offered too: the first
time it is used, the engine is asked to load its folder at runtime (POST /v1/load_lora_adapter: vLLM with
VLLM_ALLOW_RUNTIME_LORA_UPDATING=True on the same machine, or a Lorag), and the models are listed again. An engine
that refuses (HTTP 400 / 403 / 404 / 405 / 501: no such endpoint, not allowed, a path it does not have, another base)
is remembered until the next load, and the adapter problem then says the engine does not serve it and why.
Removing such an adapter here (unload, delete) asks the engine to unload it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Iterator

from engine.adapters.meta import BaseFingerprint
from engine.errors import LoragError, Phrase
from engine.models.generation import GenerationParams, StreamEvent
from engine.models.remote import ENGINE_DEVICE, ENGINE_PREFIX, EngineClient, EngineModel
from engine.models.state import LoadedModel, UnloadReport
from engine.models.thinking import SWITCHABLE, requested_switches
from engine.safety import ADAPTER_NAME, inside, validate_name

REFUSALS = (400, 403, 404, 405, 501)   # the engine will not load an adapter at runtime (rather than failing)


class EngineLink:
    def __init__(self, client: EngineClient, adapters_dir: Path | None = None) -> None:
        self.client = client
        self.adapters_dir = Path(adapters_dir) if adapters_dir is not None else None   # this studio's adapters
        self.current: LoadedModel | None = None
        self.loras: list[EngineModel] = []     # the engine's LoRA models of the current base
        self.refused: dict[str, str] = {}      # adapter -> why the engine would not load it at runtime
        self.loaded_here: set[str] = set()     # adapters this studio had the engine load at runtime
        self._loading = threading.Lock()

    def models(self) -> list[EngineModel]:
        return self.client.models()

    def load(self, source: str) -> LoadedModel:
        model_id = source[len(ENGINE_PREFIX):].strip()
        listed = self.client.models()
        found = next((m for m in listed if m.id == model_id and not m.parent), None)
        if found is None:
            names = ", ".join(m.id for m in listed if not m.parent) or "none"
            raise LoragError(f"The engine at {self.client.url} does not serve {model_id!r}. It serves: {names}.",
                             key="engine.not_served",
                             params={"url": self.client.url, "model_id": model_id, "names": names})
        self.loras = [m for m in listed if m.parent == model_id]
        self.refused, self.loaded_here = {}, set()
        self.current = LoadedModel(
            name=model_id, source=source, folder=self.client.url, device=ENGINE_DEVICE, dtype="", quantization="none",
            attention="", fingerprint=BaseFingerprint(model=model_id), context_length=found.context_length,
            thinking=found.thinking or SWITCHABLE, switches=list(found.switches), options={"source": source})
        return self.current

    def unload(self) -> UnloadReport | None:
        if self.current is None:
            return None
        report = UnloadReport(self.current.name, 0, 0)
        self.current, self.loras = None, []
        return report

    # --- adapters -----------------------------------------------------------------------------------------
    def adapter_model(self, name: str) -> str:
        """The engine's LoRA model id for Lorag adapter `name` ('' when the engine has none)."""
        base = self.current.name if self.current else ""
        return next((m.id for m in self.loras if m.id in (name, f"{base}@{name}")), "")

    def lora_names(self) -> list[str]:
        """The engine's LoRA models as adapter names ('<base>@' dropped)."""
        base = self.current.name if self.current else ""
        return [m.id.removeprefix(f"{base}@") for m in self.loras]

    def adapter_problem(self, name: str) -> str:
        """'' when the engine serves `name`, or may load it at runtime (not refused yet); else why not."""
        if self.adapter_model(name) or name not in self.refused:
            return ""
        why = self.refused[name]
        return Phrase(f"{self.current.name} runs on the engine at {self.client.url}, which does not serve this "
                      f"adapter and refused to load it at runtime ({why}). Start the engine with the adapter as a "
                      f"LoRA model (vLLM: --enable-lora --lora-modules {name}=PATH), or on the machine that holds "
                      "the adapter with runtime loading allowed (vLLM: VLLM_ALLOW_RUNTIME_LORA_UPDATING=True).",
                      "error.engine.adapter_not_served",
                      {"model": self.current.name, "url": self.client.url, "name": name, "why": why})

    def load_adapter(self, name: str) -> str:
        """The engine's LoRA model id for `name`, asking the engine to load this studio's folder of `name` at
        runtime when it does not list it (see the module docstring)."""
        with self._loading:                   # two requests for one new adapter: one load
            model = self.adapter_model(name)
            if model:
                return model
            self._ask_to_load(name, self._folder(name))
            self._relist()
            model = self.adapter_model(name)
            if not model:
                self.refused[name] = "it answered, but does not list the adapter"
            else:
                self.loaded_here.add(name)
                return model
        problem = self.adapter_problem(name)
        raise LoragError(problem, key="adapters.incompatible", params={"problem": problem})

    def activate(self, name: str) -> float:
        """Seconds the engine took to load `name` at runtime (0 when it served it already)."""
        if self.adapter_model(name):
            return 0.0
        started = time.perf_counter()
        self.load_adapter(name)
        return time.perf_counter() - started

    def unload_adapter(self, name: str) -> bool:
        """Ask the engine to unload `name` when this studio loaded it there; True when it did."""
        if name not in self.loaded_here:
            return False
        self.client.unload_lora(name)
        self.loaded_here.discard(name)
        self._relist()
        return True

    def _ask_to_load(self, name: str, folder: Path) -> None:
        try:
            self.client.load_lora(name, str(folder))
        except LoragError as exc:
            status = exc.params.get("status") if exc.key == "engine.refused" else None
            if status not in REFUSALS:
                raise
            self.refused[name] = f"HTTP {status}: {exc.params.get('detail')}"
            problem = self.adapter_problem(name)
            raise LoragError(problem, key="adapters.incompatible", params={"problem": problem}) from None

    def _folder(self, name: str) -> Path:
        folder = inside(self.adapters_dir, validate_name(name, ADAPTER_NAME)) if self.adapters_dir else None
        if folder is None or not folder.is_dir():
            raise LoragError(f"There is no adapter {name!r}.", hint="Import or train one in the Models tab.",
                             key="models.no_adapter", hint_key="models.no_adapter_hint", params={"name": repr(name)})
        return folder

    def _relist(self) -> None:
        base = self.current.name if self.current else ""
        self.loras = [m for m in self.client.models() if m.parent == base]

    # --- generation ---------------------------------------------------------------------------------------
    def stream_chat(self, messages: list[dict[str, Any]], params: GenerationParams, adapter: str | None,
                    stop_event: threading.Event, continue_final: bool = False, thinking: bool | None = None,
                    preserve_thinking: bool | None = None, reasoning_effort: str = "") -> Iterator[StreamEvent]:
        """The thinking switches the caller set go to the engine as chat_template_kwargs (nothing is filled in:
        the engine's template keeps its own defaults for the rest)."""
        if continue_final:
            raise LoragError("Continuing a reply is not available on an engine model yet: regenerate it instead.",
                             key="engine.no_continue")
        if not messages:
            raise LoragError("There is nothing to answer yet.", key="chat.nothing_to_answer")
        template = requested_switches(thinking, preserve_thinking, reasoning_effort)
        return self.client.stream_chat(self._model_for(adapter), messages, params, stop_event, adapter=adapter or "",
                                       template=template)

    def stream_completion(self, prompt: str, params: GenerationParams, adapter: str | None,
                          stop_event: threading.Event) -> Iterator[StreamEvent]:
        return self.client.stream_completion(self._model_for(adapter), prompt, params, stop_event,
                                             adapter=adapter or "")

    def _model_for(self, adapter: str | None) -> str:
        """The engine model id that runs `adapter` (the base itself for none)."""
        if self.current is None:
            raise LoragError("No model is loaded.", hint="Load one in the Models tab.",
                             key="models.none_loaded", hint_key="models.load_one")
        if not adapter:
            return self.current.name
        return self.load_adapter(adapter)
