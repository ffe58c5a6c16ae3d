"""ModelService (`studio.models`): one loaded model, its resident LoRA adapters, and streamed generation.

Public API (what the UI, the API and other areas call):
- `load(source | LoadOptions, **options) -> LoadedModel`: a preset name, hub id (downloaded already, see
  `start_download`), local folder or .gguf file; options device / dtype / quantization / attention (see
  engine.models.loading.LoadOptions). Loading a second model unloads the first. trust_remote_code is always off.
- `unload() -> UnloadReport` (memory measured before and after), `current -> LoadedModel | None`,
  `summary() -> str` (one line for the status bar), `estimate(options) -> MemoryEstimate` before loading,
  `start_download(hub_id, token) -> Job` (kind "download": progress, resumable, cancel).
- `render_prompt(messages, thinking=None, continue_final=False) -> str`: the model's exact input ("Show prompt").
- `stream_chat(messages, params, adapter=None, thinking=None, continue_final=False, request_id=None)` and
  `stream_completion(prompt, params, adapter=None, request_id=None)` yield `StreamEvent`s (engine.models.generation):
  "reasoning" / "answer" deltas, then one "done" event with `GenerationStats`. Reasoning (Qwen3 <think>) is split
  from the answer and never part of it. `messages` are dicts with role, content and optionally reasoning (only
  the answer of earlier turns is sent back to the model).
- An engine model (`load("engine:<id>")`, --engine-url: engine.models.engine_link) streams from that server.
- `stop(request_id=None)`: ends that stream (or every stream) at the next token; the stream then finishes with
  finish_reason "stopped" and the text so far.
- Adapters (used by AdapterRegistry): `resident_adapters()`, `activate_adapter(name)`, `drop_adapter(name)`,
  `adapter_problem(name)`; on an engine model they ask the engine (runtime LoRA loading: engine.models.engine_link).

Concurrency: there is one model object, so generation is serialized by one line (engine.models.turns): a second
request waits until the first one's stream is finished (or stopped), then runs with its own adapter; requests are
served in the order they came. Loading, unloading and adapter changes wait in the same line (after asking running
streams to stop). `stream_chat(..., report_queue=True)` also yields "queued" events while the request waits (the
API tells its clients their place).

Nothing heavy is imported at module level: torch / transformers load on the first call that needs them.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from engine.adapters.files import check_weights, incompatibility, read_meta
from engine.adapters.meta import BaseFingerprint
from engine.errors import LoragError
from engine.models.generation import GenerationParams, StreamEvent
from engine.models.loading import (
    LoadOptions,
    ResolvedSource,
    download_job,
    dtype_name,
    hub_folder,
    load_model,
    prepare_folder,
    resolve_source,
)
from engine.models.memory import MemoryEstimate, estimate_memory
from engine.models.remote import ENGINE_PREFIX, engine_source, is_engine_source
from engine.models.state import Loaded, LoadedModel, UnloadReport, memory_now, release_memory
from engine.models.streams import Streams
from engine.models.thinking import ALWAYS, NONE, history_for_template, template_kwargs, template_switches, thinking_mode
from engine.models.turns import Ticket, Turns
from engine.safety import ADAPTER_NAME, inside, validate_name

log = logging.getLogger(__name__)


class ModelService:
    def __init__(self, models_dir: Path, adapters_dir: Path, jobs: Any = None, device: str = "auto",
                 max_resident_adapters: int = 4, engine: Any = None) -> None:
        """`engine`: an EngineClient (engine.models.remote) whose models can be loaded as "engine:<id>"."""
        self.models_dir = Path(models_dir)
        self.adapters_dir = Path(adapters_dir)
        self.jobs = jobs
        self.default_device = device
        self.max_resident_adapters = max_resident_adapters
        self._turns = Turns()                  # one generation / load / adapter change at a time, in order
        self._loaded: Loaded | None = None
        self._loading = ""
        self._streams = Streams()
        from engine.models.engine_link import EngineLink

        self.engine = EngineLink(engine, self.adapters_dir) if engine is not None else None

    # --- state ----------------------------------------------------------------------------------------
    @property
    def current(self) -> LoadedModel | None:
        if self._remote() is not None:
            return self._remote()
        loaded = self._loaded
        return loaded.info if loaded is not None else None

    @property
    def empty(self) -> bool:
        """Nothing loaded and nothing loading (the status bar says so in the person's language)."""
        return not self._loading and self.current is None

    def summary(self) -> str:
        if self._loading:
            return f"loading {self._loading}…"
        current = self.current
        return current.summary() if current is not None else "none loaded"

    def device(self) -> str | None:
        """Where the loaded model is ('cuda:0', 'cpu'...), None when none is loaded (training asks this before it
        takes the GPU: the engine arbitrates, it never fights silently)."""
        current = self.current
        return current.device if current is not None else None

    def release(self) -> None:
        """Give the GPU up for a training job: unload the model."""
        self.unload()

    def _remote(self) -> LoadedModel | None:
        """The engine model in use (--engine-url), None when the model (if any) runs in this process."""
        return self.engine.current if self.engine is not None else None

    def engine_models(self) -> list[str]:
        """The base models the engine (--engine-url) serves, as load sources "engine:<id>" ([] without one)."""
        return [engine_source(m.id) for m in self.engine.models() if not m.parent] if self.engine else []

    def engine_adapters(self) -> list[str]:
        """The LoRA models the engine serves for the engine model in use, as adapter names ([] otherwise)."""
        return self.engine.lora_names() if self._remote() is not None else []

    def resolve(self, source: str) -> ResolvedSource:
        if is_engine_source(source):
            return ResolvedSource("engine", source[len(ENGINE_PREFIX):], source)
        return resolve_source(source, self.models_dir)

    def estimate(self, options: LoadOptions | str, **kwargs: Any) -> MemoryEstimate:
        options = self._options(options, **kwargs)
        return estimate_memory(self.resolve(options.source), options)

    # --- downloads --------------------------------------------------------------------------------------
    def start_download(self, hub_id: str, token: str = "") -> Any:
        """A "download" job fetching a hub model into data/models/hub/ (resumes a partial download)."""
        if self.jobs is None:
            raise LoragError("Downloads need the studio's job store.", key="models.downloads_need_jobs")
        resolved = self.resolve(hub_id)
        if resolved.kind != "hub":
            raise LoragError(f"{hub_id!r} is not a hub model id (owner/name).", key="models.not_hub_id",
                             params={"id": repr(hub_id)})
        return download_job(self.jobs, resolved.hub_id, resolved.folder, token)

    # --- load / unload --------------------------------------------------------------------------------
    def _options(self, options: LoadOptions | str | None, **kwargs: Any) -> LoadOptions:
        if isinstance(options, LoadOptions):
            return options.validate()
        kwargs.setdefault("device", self.default_device)
        return LoadOptions(source=options or kwargs.pop("source", ""), **kwargs).validate()

    def load(self, options: LoadOptions | str, **kwargs: Any) -> LoadedModel:
        """Load a model (replacing the one loaded). Blocks until loaded; errors are LoragError."""
        options = self._options(options, **kwargs)
        if is_engine_source(options.source):
            return self._load_on_engine(options.source)
        resolved = self.resolve(options.source)
        self.unload()
        with self._turns.hold():
            self._loading = resolved.name
            try:
                if self._loaded is not None:
                    self._unload_locked()
                started = time.perf_counter()
                folder = prepare_folder(resolved)
                model, tokenizer = load_model(folder, options)
                info = self._describe(resolved, folder, options, model, tokenizer)
                info.load_seconds = time.perf_counter() - started
                from engine.adapters.hotswap import AdapterHost

                self._loaded = Loaded(info, model, tokenizer, AdapterHost(model, self.max_resident_adapters))
            finally:
                self._loading = ""
        log.info("loaded %s in %.1f s", info.summary(), info.load_seconds)
        return info

    def _load_on_engine(self, source: str) -> LoadedModel:
        if self.engine is None:
            raise LoragError("No engine is set.", hint="Start Lorag with --engine-url URL.",
                             key="models.no_engine", hint_key="models.no_engine_hint")
        self.unload()
        return self.engine.load(source)

    def _describe(self, resolved: ResolvedSource, folder: Path, options: LoadOptions, model: Any,
                  tokenizer: Any) -> LoadedModel:
        first = next(model.parameters())
        device = str(first.device)
        text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        preset = resolved.preset
        mode = thinking_mode(tokenizer)
        generation = preset.generation_preset(False) if preset else "default"
        thinking_preset = preset.generation_preset(True) if preset and mode != NONE else ""
        if not thinking_preset and mode != NONE:
            thinking_preset = "qwen3-thinking"
        return LoadedModel(
            name=resolved.name, source=resolved.source or resolved.hub_id, folder=str(folder), device=device,
            dtype=dtype_name(model.dtype), quantization=options.quantization, attention=options.attention,
            fingerprint=BaseFingerprint.of(model.config, source=resolved.base_label),
            params=sum(p.numel() for p in model.parameters()), memory_bytes=int(model.get_memory_footprint()),
            thinking=mode, has_chat_template=bool(getattr(tokenizer, "chat_template", None)),
            context_length=int(getattr(text_config, "max_position_embeddings", 0) or 0),
            preset=preset.name if preset else "", generation_preset=generation, thinking_preset=thinking_preset,
            switches=template_switches(tokenizer), options=options.public())

    def unload(self) -> UnloadReport | None:
        """Unload the model and its adapters; returns the memory freed (None when nothing was loaded)."""
        self.stop()
        if self._remote() is not None:
            return self.engine.unload()
        with self._turns.hold():
            if self._loaded is None:
                return None
            return self._unload_locked()

    def _unload_locked(self) -> UnloadReport:
        name = self._loaded.info.name
        ram_before, gpu_before = memory_now()
        loaded, self._loaded = self._loaded, None
        loaded.host.clear()
        del loaded
        release_memory()
        ram_after, gpu_after = memory_now()
        report = UnloadReport(name, max(0, ram_before - ram_after), max(0, gpu_before - gpu_after))
        log.info("%s", report.summary())
        return report

    def _require(self) -> Loaded:
        remote = self._remote()
        if remote is not None:
            raise LoragError(f"{remote.name} runs on the engine at {remote.folder}: this needs a model that Lorag "
                             "runs itself.", hint="Load one in the Models tab.", key="models.remote_model",
                             hint_key="models.load_one", params={"name": remote.name, "folder": remote.folder})
        if self._loaded is None:
            raise LoragError("No model is loaded.", hint="Load one in the Models tab.", key="models.none_loaded",
                             hint_key="models.load_one")
        return self._loaded

    # --- adapters (the registry calls these) --------------------------------------------------------------
    def resident_adapters(self) -> list[str]:
        loaded = self._loaded
        return loaded.host.resident() if loaded is not None else []

    def adapter_problem(self, name: str) -> str:
        """'' when adapter `name` can run on the loaded model; else why not (no model loaded: '')."""
        loaded = self._loaded
        if self._remote() is not None:
            return self.engine.adapter_problem(name)
        if loaded is None:
            return ""
        folder = self._adapter_folder(name)
        return incompatibility(read_meta(folder, name), folder, loaded.info.fingerprint, loaded.host.model)

    def activate_adapter(self, name: str) -> float:
        """Make `name` resident on the loaded model; returns seconds spent loading it (0 when resident)."""
        if self._remote() is not None:   # the engine serves it, or loads it at runtime now
            return self.engine.activate(name)
        with self._turns.hold():
            return self._ensure_adapter(self._require(), name)

    def drop_adapter(self, name: str) -> bool:
        """Remove `name` from memory (the base model keeps working)."""
        if self._remote() is not None:   # the engine unloads it if this studio had it loaded there
            return self.engine.unload_adapter(name)
        self.stop()
        with self._turns.hold():
            loaded = self._loaded
            return loaded.host.remove(name) if loaded is not None else False

    def _adapter_folder(self, name: str) -> Path:
        folder = inside(self.adapters_dir, validate_name(name, ADAPTER_NAME))
        if not folder.is_dir():
            raise LoragError(f"There is no adapter {name!r}.", hint="Import or train one in the Models tab.",
                             key="models.no_adapter", hint_key="models.no_adapter_hint", params={"name": repr(name)})
        return folder

    def _ensure_adapter(self, loaded: Loaded, name: str) -> float:
        folder = self._adapter_folder(name)
        check_weights(folder)
        if name not in loaded.host.resident():
            problem = incompatibility(read_meta(folder, name), folder, loaded.info.fingerprint, loaded.host.model)
            if problem:
                raise LoragError(problem, key="adapters.incompatible", params={"problem": problem})
        try:
            return loaded.host.ensure(name, folder)
        except (ValueError, RuntimeError, KeyError, OSError) as exc:
            raise LoragError(f"The adapter {name!r} could not be loaded on {loaded.info.name}: {exc}",
                             key="models.adapter_load_failed",
                             params={"name": name, "model": loaded.info.name, "exc": exc}) from exc

    # --- prompts --------------------------------------------------------------------------------------
    def render_prompt(self, messages: list[dict[str, Any]], thinking: bool | None = None,
                      continue_final: bool = False, **switches: Any) -> str:
        """The exact prompt text the model receives for these messages (the tokenizer's own template).
        `switches`: preserve_thinking, reasoning_effort (see engine.models.thinking.template_kwargs)."""
        return self._render(self._require(), messages, thinking, continue_final, **switches)

    @staticmethod
    def _render(loaded: Loaded, messages: list[dict[str, Any]], thinking: bool | None,
                continue_final: bool, preserve_thinking: bool = False, reasoning_effort: str = "") -> str:
        tokenizer = loaded.tokenizer
        if not getattr(tokenizer, "chat_template", None):
            raise LoragError(f"{loaded.info.name} has no chat template, so it cannot chat.",
                             hint="Use the Notebook tab for plain text completion.", key="models.no_chat_template",
                             hint_key="models.no_chat_template_hint", params={"name": loaded.info.name})
        if not messages:
            raise LoragError("There is nothing to answer yet.", key="chat.nothing_to_answer")
        kwargs = template_kwargs(tokenizer, thinking, preserve_thinking, reasoning_effort)
        try:
            return tokenizer.apply_chat_template(
                history_for_template(messages, preserve_thinking), tokenize=False,
                add_generation_prompt=not continue_final,
                continue_final_message=continue_final, **kwargs)
        except Exception as exc:  # noqa: BLE001 - jinja errors from a model's template
            raise LoragError(f"The chat template of {loaded.info.name} failed on this conversation: {exc}",
                             key="models.chat_template_failed", params={"name": loaded.info.name, "exc": exc}) from exc

    def count_tokens(self, text: str) -> int:
        loaded = self._loaded
        if loaded is None or not text:
            return 0
        return len(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])

    def next_token_logits(self, prompt: str, adapter: str | None = None) -> Any:
        """The model's logits for the token after `prompt` (raw text) with `adapter` or none: a float32 CPU
        tensor. Used by tests and the adapter benchmark to compare adapters exactly."""
        import torch

        with self._turns.hold():
            loaded = self._require()
            if adapter:
                self._ensure_adapter(loaded, adapter)
            inputs = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
            with loaded.host.use(adapter or None) as model, torch.inference_mode():
                device = next(model.parameters()).device
                out = model(**{k: v.to(device) for k, v in inputs.items()})
            return out.logits[0, -1].float().cpu()

    # --- generation -------------------------------------------------------------------------------------
    def stream_chat(self, messages: list[dict[str, Any]], params: GenerationParams | None = None,
                    adapter: str | None = None, thinking: bool | None = None, continue_final: bool = False,
                    request_id: str | None = None, report_queue: bool = False,
                    **switches: Any) -> Iterator[StreamEvent]:
        """Stream a reply to `messages` (see the module docstring); `switches` as for render_prompt."""
        params = params or GenerationParams()
        if self._remote() is not None:
            return self._on_engine(self.engine.stream_chat, messages, params, adapter, request_id,
                                   continue_final=continue_final, thinking=thinking, **switches)
        return self._stream(params, adapter or None, request_id,
                            prompt_for=lambda loaded: (self._render(loaded, messages, thinking, continue_final,
                                                                    **switches), False),
                            chat=True, continuing=continue_final, report_queue=report_queue)

    def stream_completion(self, prompt: str, params: GenerationParams | None = None, adapter: str | None = None,
                          request_id: str | None = None, report_queue: bool = False) -> Iterator[StreamEvent]:
        """Stream a raw continuation of `prompt` (no chat template; the Notebook)."""
        if not prompt:
            raise LoragError("Write the beginning of a text first.", key="notebook.write_first")
        params = params or GenerationParams()
        if self._remote() is not None:
            return self._on_engine(self.engine.stream_completion, prompt, params, adapter, request_id)
        return self._stream(params, adapter or None, request_id, prompt_for=lambda loaded: (prompt, True),
                            chat=False, report_queue=report_queue)

    def stop(self, request_id: str | None = None) -> bool:
        """Stop the stream `request_id` (every running stream when None). True when one was running."""
        return self._streams.stop(request_id)

    @contextmanager
    def generation_turn(self, adapter: str | None, cancelled: threading.Event,
                        ticket: Ticket | None = None) -> Iterator[Loaded | None]:
        """The loaded model with `adapter` resident, held for one generation (requests run one after another, in
        the order they came); None when `cancelled` was set while it waited for its turn."""
        with self._turns.hold(ticket, cancelled) as holding:
            if not holding or cancelled.is_set():
                yield None
                return
            loaded = self._require()
            if adapter:
                self._ensure_adapter(loaded, adapter)
            yield loaded

    def _stream(self, params: GenerationParams, adapter: str | None, request_id: str | None, prompt_for: Any,
                chat: bool, continuing: bool = False, report_queue: bool = False) -> Iterator[StreamEvent]:
        from engine.models.streaming import Generation

        with self._streams.running(request_id) as stop_event:
            ticket = Ticket()
            turn = functools.partial(self.generation_turn, ticket=ticket)
            place = functools.partial(self._turns.where, ticket) if report_queue else None
            generation = Generation(turn, params, adapter, prompt_for, chat, stop_event, continuing, place)
            yield from generation.run()

    def _on_engine(self, stream: Any, text: Any, params: GenerationParams, adapter: str | None,
                   request_id: str | None, **options: Any) -> Iterator[StreamEvent]:
        """A stream from the engine, stoppable like any other (the engine batches: no turn on a model is taken)."""
        with self._streams.running(request_id) as stop_event:
            yield from stream(text, params, adapter, stop_event, **options)


__all__ = ["ALWAYS", "GenerationParams", "LoadOptions", "LoadedModel", "ModelService", "StreamEvent",
           "UnloadReport", "hub_folder"]
