"""The model ModelService has on an OpenAI-compatible engine (--engine-url) instead of in memory.

"Loading" an engine model checks that the engine serves it and records it; nothing moves into this process.
Continuing a reply is not offered on an engine model yet. Its thinking mode is what the engine says (a Lorag
engine says it in /v1/models); an engine that does not say (vLLM, SGLang) counts as switchable: the person may
switch thinking, and the engine's template reads enable_thinking or ignores it.

Lorag's adapters run there only as the engine's own LoRA models: a Lorag adapter `name` is usable when the
engine lists a LoRA model of the loaded base named `name` or `<base>@name` (vLLM `--lora-modules name=path`,
or another Lorag's adapters); otherwise the adapter problem says the engine cannot take it.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

from engine.adapters.meta import BaseFingerprint
from engine.errors import LoragError, Phrase
from engine.models.generation import GenerationParams, StreamEvent
from engine.models.remote import ENGINE_DEVICE, ENGINE_PREFIX, EngineClient, EngineModel
from engine.models.state import LoadedModel, UnloadReport
from engine.models.thinking import SWITCHABLE, requested_switches


class EngineLink:
    def __init__(self, client: EngineClient) -> None:
        self.client = client
        self.current: LoadedModel | None = None
        self.loras: list[EngineModel] = []     # the engine's LoRA models of the current base

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
        if self.adapter_model(name):
            return ""
        return Phrase(f"{self.current.name} runs on the engine at {self.client.url}, which does not serve this "
                      "adapter. Lorag cannot load adapters into it: start the engine with the adapter as a LoRA model "
                      f"(vLLM: --enable-lora --lora-modules {name}=PATH).", "error.engine.adapter_not_served",
                      {"model": self.current.name, "url": self.client.url, "name": name})

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
        model = self.adapter_model(adapter)
        if not model:
            problem = self.adapter_problem(adapter)
            raise LoragError(problem, key="adapters.incompatible", params={"problem": problem})
        return model
