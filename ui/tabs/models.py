"""Models tab: load a model (Qwen preset, hub id, local folder, GGUF file, or the offline demo) with device,
precision, quantization and attention; see the memory it needs first; unload; manage LoRA adapters (import,
load into memory, delete, merge and export: ui.tabs.models_adapters)."""

from __future__ import annotations

import html
import time
from typing import Any, Iterator

import gradio as gr

from engine.errors import LoragError
from engine.models.loading import ATTENTIONS, DEVICES, DTYPES, QUANTIZATIONS, LoadOptions
from engine.models.presets import model_presets
from engine.models.remote import ENGINE_DEVICE, is_engine_source
from engine.studio import Studio
from ui.errors import person_message, status_phrase, warns
from ui.i18n import say, t
from ui.tabs.models_adapters import AdaptersSection, adapter_names, adapter_rows
from ui.tabs.models_engine import ENGINE_KIND, engine_choices, engine_field, engine_note
from ui.tabs.models_memory import memory_text

KINDS = ("Preset", "Hub id", "Local folder", "GGUF file", ENGINE_KIND)
KIND_KEYS = {"Preset": "models.kind_preset", "Hub id": "models.kind_hub", "Local folder": "models.kind_folder",
             "GGUF file": "models.kind_gguf", ENGINE_KIND: "models.kind_engine"}
DEMO_PRESET = "smollm2-135m-demo"


def loaded_status(studio: Studio) -> str:
    lines = []
    current = studio.models.current
    if current is None:
        lines.append(say("models.no_model"))
    elif current.device == ENGINE_DEVICE:
        lines.append(say("models.loaded_engine", model=html.escape(current.summary())))
    else:
        lines.append(say("models.loaded", model=html.escape(current.summary()), params=f"{current.params / 1e6:,.0f}",
                         seconds=f"{current.load_seconds:.1f}", thinking=current.thinking))
    for job in studio.jobs.list(kind="download", limit=5):
        if job.active:
            progress = f"{job.progress * 100:.0f}% {html.escape(job.message)}"
            lines.append(say("models.downloading", title=html.escape(job.title), progress=progress))
    return "\n\n".join(lines)


def source_of(kind: str, preset: str, hub: str, folder: str, gguf: str, engine: str) -> str:
    return {"Preset": preset, "Hub id": hub, "Local folder": folder, "GGUF file": gguf, ENGINE_KIND: engine}[kind] \
        or ""


def preset_notes(name: str) -> str:
    preset = model_presets().get(name)
    if preset is None:
        return ""
    if preset.demo:
        return say("models.demo_notes")
    thinking = " · " + say("models.preset_thinking") if preset.thinking == "switchable" else ""
    return say("models.preset_notes", hub_id=preset.hub_id, params=f"{preset.params_b:g}",
               context=f"{preset.context_length:,}", thinking=thinking, preset=preset.generation_preset())


def create_models_tab(studio: Studio) -> None:
    _ModelsTab(studio).build()


class _ModelsTab:
    """The layout methods make the components, the _wire methods connect them, the on_* handlers answer (page
    events only: the API endpoints are the few that ui.app.PUBLIC_ENDPOINTS names)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.presets = model_presets()
        self.adapters = AdaptersSection(studio)

    # --- layout --------------------------------------------------------------------------------------------
    def build(self) -> None:
        with gr.Tab(t("models.models"), id="models", elem_id="tab-models") as self.tab:
            gr.Markdown(t("models.models_2"))
            self.status = gr.Markdown(lambda: loaded_status(self.studio), elem_id="models-status")
            with gr.Row():
                with gr.Column(scale=3):
                    self._source_fields()
                with gr.Column(scale=2):
                    self._option_fields()
            self.estimate = gr.Markdown(elem_id="model-estimate")
            with gr.Row():
                self.load = gr.Button(t("models.load"), variant="primary", elem_id="model-load")
                self.unload = gr.Button(t("models.unload"), elem_id="model-unload")
            self.progress = gr.Markdown(elem_id="model-progress")
            self._wire_form()
            self.adapters.build()
            self._wire_loading()

    def _source_fields(self) -> None:
        self.kind = gr.Radio([(t(KIND_KEYS[kind]), kind) for kind in KINDS], value="Preset",
                             label=t("models.load_from"), elem_id="model-kind")
        self.preset = gr.Dropdown(choices=[(p.label, n) for n, p in self.presets.items()], value=DEMO_PRESET,
                                  label=t("models.model_preset"), elem_id="model-preset")
        self.notes = gr.Markdown(preset_notes(DEMO_PRESET), elem_id="model-preset-notes")
        self.hub = gr.Textbox(label=t("models.hub_id"), placeholder=t("models.qwen_qwen3_0"), visible=False,
                              elem_id="model-hub")
        self.token = gr.Textbox(label=t("models.hugging_face_token"),
                                type="password", visible=False)
        self.folder = gr.Textbox(label=t("models.model_folder_with"), visible=False,
                                 elem_id="model-folder")
        self.gguf = gr.Textbox(label=t("models.gguf_file_converted"), visible=False,
                               elem_id="model-gguf")
        self.engine = engine_field()

    def _option_fields(self) -> None:
        device = self.studio.settings.device
        self.device = gr.Radio(list(DEVICES), value=device if device in DEVICES else "auto", label=t("models.device"))
        self.dtype = gr.Radio(list(DTYPES), value="auto", label=t("models.precision"))
        self.quant = gr.Radio(list(QUANTIZATIONS), value="none", label=t("models.quantization_bitsandbytes_8"))
        self.attention = gr.Dropdown(list(ATTENTIONS), value="auto", label=t("models.attention_implementation"))

    # --- events --------------------------------------------------------------------------------------------
    def _wire_form(self) -> None:
        """The fields shown for each source, a preset's advice, the memory estimate."""
        self.source_inputs = [self.kind, self.preset, self.hub, self.folder, self.gguf, self.engine]
        self.option_inputs = [self.device, self.dtype, self.quant, self.attention]
        self.kind.change(self.on_kind, [self.kind], [self.preset, self.notes, self.hub, self.token, self.folder,
                                                         self.gguf, self.engine], queue=False)
        self.preset.input(self.on_preset, [self.preset], [self.notes, self.dtype, self.quant], queue=False)
        # One handler object for both estimate events: Gradio queues them in one concurrency group.
        self.estimate_handler = self.on_estimate
        gr.on([self.kind.change, self.preset.change, self.device.change, self.dtype.change, self.quant.change,
               self.hub.blur, self.folder.blur, self.gguf.blur, self.engine.change], self.estimate_handler,
              [*self.source_inputs, *self.option_inputs], [self.estimate])

    def _wire_loading(self) -> None:
        """Load, unload, and a fresh view when the tab is selected."""
        table, chosen = self.adapters.table, self.adapters.chosen
        self.load.click(warns(self.on_load), [*self.source_inputs, self.token, *self.option_inputs],
                        [self.progress, self.status, table], concurrency_limit=1, concurrency_id="model-load")
        self.unload.click(warns(self.on_unload), None, [self.progress, self.status, table],
                          concurrency_id="model-load")
        self.tab.select(lambda v: (loaded_status(self.studio), adapter_rows(self.studio),
                                   adapter_names(self.studio, v)), [chosen], [self.status, table, chosen],
                        queue=False)
        self.tab.select(self.estimate_handler, [*self.source_inputs, *self.option_inputs], [self.estimate])

    # --- handlers ------------------------------------------------------------------------------------------
    def on_kind(self, selected: str) -> list[dict[str, Any]]:
        return [gr.update(visible=selected == "Preset"), gr.update(visible=selected == "Preset"),
                gr.update(visible=selected == "Hub id"), gr.update(visible=selected == "Hub id"),
                gr.update(visible=selected == "Local folder"), gr.update(visible=selected == "GGUF file"),
                engine_choices(self.studio, selected == ENGINE_KIND)]

    def on_preset(self, name: str) -> tuple:
        """The preset's notes, and the precision and quantization it advises for the free memory."""
        chosen = self.presets.get(name)
        if chosen is None:
            return preset_notes(name), gr.update(), gr.update()
        free_gb = _free_gb(self.studio)
        advice = chosen.recommend(free_gb)
        return preset_notes(name), advice.get("dtype", "auto"), advice.get("quantization", "none")

    def on_estimate(self, *values: Any) -> str:
        source = source_of(*values[:6])
        if not source:
            return ""
        if is_engine_source(source):
            return engine_note(self.studio)
        try:
            return say("models.memory_line", summary=memory_text(self.studio.models.estimate(
                _options(source, *values[6:10]))))
        except LoragError as exc:
            return say("models.memory_line", summary=html.escape(person_message(exc)))

    def on_load(self, *values: Any) -> Iterator[tuple]:
        """Download first when a hub model is missing, then load; yields (progress, status, adapters table)."""
        studio = self.studio
        source = source_of(*values[:6])
        token_value = values[6]
        options = _options(source, *values[7:11], token=token_value)
        resolved = studio.models.resolve(source)
        if resolved.kind == "hub" and not resolved.ready:
            for line in _download(studio, resolved.hub_id, token_value):
                yield line, loaded_status(studio), gr.update()
        note = " " + say("models.demo_first_time") if resolved.kind == "demo" and not resolved.ready else ""
        yield say("models.loading_model", name=html.escape(resolved.name), note=note), loaded_status(studio), \
            gr.update()
        started = time.perf_counter()
        try:
            info = studio.models.load(options)
        except LoragError as exc:
            yield (say("models.not_loaded_line", error=html.escape(person_message(exc))), loaded_status(studio),
                   adapter_rows(studio))
            raise
        yield (say("models.loaded_in", name=html.escape(info.name), seconds=f"{time.perf_counter() - started:.1f}"),
               loaded_status(studio), adapter_rows(studio))

    def on_unload(self) -> tuple:
        report = self.studio.models.unload()
        return (unload_line(report) if report else say("models.nothing_was_loaded")), loaded_status(self.studio), \
            adapter_rows(self.studio)


def unload_line(report: Any) -> str:
    """UnloadReport.summary() in the person's language."""
    text = say("models.unloaded_line", name=report.name, ram=f"{report.ram_freed_bytes / 1e6:.0f}")
    if report.gpu_freed_bytes:
        text += ", " + say("models.gpu_freed", gpu=f"{report.gpu_freed_bytes / 1e6:.0f}")
    return text + "."


def _options(source: str, device: str, dtype: str, quant: str, attention: str, token: str = "") -> LoadOptions:
    return LoadOptions(source=source, device=device, dtype=dtype, quantization=quant, attention=attention,
                       token=token or "")


def _free_gb(studio: Studio) -> float:
    try:
        import psutil

        return psutil.virtual_memory().available / 1e9
    except ImportError:
        return 8.0


def _download(studio: Studio, hub_id: str, token: str):
    for job in studio.jobs.follow(studio.models.start_download(hub_id, token).id):
        if job.active:
            yield say("models.downloading_line", hub_id=html.escape(hub_id), percent=f"{job.progress * 100:.0f}",
                      message=html.escape(job.message))
    if job.status != "completed":
        if job.message:
            raise job.refusal()
        status = status_phrase(job.status)
        raise LoragError(f"The download of {hub_id} did not finish ({status}).", key="models.download_unfinished",
                         params={"hub_id": hub_id, "status": status})
