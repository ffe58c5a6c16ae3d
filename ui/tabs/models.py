"""Models tab: load a model (Qwen preset, hub id, local folder, GGUF file, or the offline demo) with device,
precision, quantization and attention; see the memory it needs first; unload; manage LoRA adapters (import,
load into memory, delete, merge and export)."""

from __future__ import annotations

import html
import time
from datetime import datetime
from typing import Any

import gradio as gr

from engine.errors import LoragError
from engine.models.loading import ATTENTIONS, DEVICES, DTYPES, QUANTIZATIONS, LoadOptions
from engine.models.presets import model_presets
from engine.studio import Studio
from ui.errors import shows_errors

KINDS = ("Preset", "Hub id", "Local folder", "GGUF file")
DEMO_PRESET = "smollm2-135m-demo"
ADAPTER_COLUMNS = ["Name", "Made for", "Rank", "Alpha", "Targets", "Source", "Created", "Fits loaded model",
                   "In memory", "MB"]


def loaded_status(studio: Studio) -> str:
    lines = []
    current = studio.models.current
    if current is None:
        lines.append("**No model loaded.** Pick a preset (the first one, the offline demo, needs no internet) "
                     "and press **Load**.")
    else:
        lines.append(f"**Loaded:** {html.escape(current.summary())} · {current.params / 1e6:,.0f} M parameters · "
                     f"loaded in {current.load_seconds:.1f} s · thinking: {current.thinking}")
    for job in studio.jobs.list(kind="download", limit=5):
        if job.active:
            progress = f"{job.progress * 100:.0f}% {html.escape(job.message)}"
            lines.append(f"Downloading: {html.escape(job.title)} — {progress}")
    return "\n\n".join(lines)


def source_of(kind: str, preset: str, hub: str, folder: str, gguf: str) -> str:
    return {"Preset": preset, "Hub id": hub, "Local folder": folder, "GGUF file": gguf}[kind] or ""


def preset_notes(name: str) -> str:
    preset = model_presets().get(name)
    if preset is None:
        return ""
    if preset.demo:
        return ("**Offline demo model** — SmolLM2-135M-Instruct, *not a Qwen model*: a tiny model shipped with "
                "Lorag's dependencies, converted once from GGUF (about 40 s the first time). Good for trying chat, "
                "adapters and training without internet; its answers are those of a 135M model.")
    thinking = " · thinking on/off (Qwen3)" if preset.thinking == "switchable" else ""
    return (f"`{preset.hub_id}` · ≈ {preset.params_b:g} B parameters · context {preset.context_length:,} tokens"
            f"{thinking} · sampling preset: {preset.generation_preset()}")


def adapter_rows(studio: Studio) -> list[list[Any]]:
    rows = []
    for info in studio.adapters.list():
        meta = info.meta
        if info.error:
            fits = f"✗ {info.error}"
        elif info.compatible is None:
            fits = "— (no model loaded)"
        else:
            fits = "✓" if info.compatible else f"✗ {info.reason}"
        created = datetime.fromtimestamp(meta.created_at).strftime("%Y-%m-%d %H:%M") if meta.created_at else ""
        rows.append([info.name, meta.base.model or meta.base.architecture or "?", meta.rank, meta.alpha,
                     ", ".join(meta.target_modules), meta.source, created, fits, "yes" if info.resident else "",
                     round(info.size_bytes / 1e6, 1)])
    return rows


def adapter_names(studio: Studio, value: str | None = None) -> dict[str, Any]:
    names = [info.name for info in studio.adapters.list()]
    return gr.update(choices=names, value=value if value in names else (names[0] if names else None))


def create_models_tab(studio: Studio) -> None:
    presets = model_presets()
    with gr.Tab("Models", id="models", elem_id="tab-models") as tab:
        gr.Markdown("### Models")
        status = gr.Markdown(lambda: loaded_status(studio), elem_id="models-status")
        with gr.Row():
            with gr.Column(scale=3):
                kind = gr.Radio(list(KINDS), value="Preset", label="Load from", elem_id="model-kind")
                preset = gr.Dropdown(choices=[(p.label, n) for n, p in presets.items()], value=DEMO_PRESET,
                                     label="Model preset", elem_id="model-preset")
                notes = gr.Markdown(preset_notes(DEMO_PRESET), elem_id="model-preset-notes")
                hub = gr.Textbox(label="Hub id", placeholder="Qwen/Qwen3-0.6B", visible=False, elem_id="model-hub")
                token = gr.Textbox(label="Hugging Face token (only for gated repositories; never stored)",
                                   type="password", visible=False)
                folder = gr.Textbox(label="Model folder (with config.json and .safetensors)", visible=False,
                                    elem_id="model-folder")
                gguf = gr.Textbox(label="GGUF file (converted once into data/models)", visible=False,
                                  elem_id="model-gguf")
            with gr.Column(scale=2):
                device = gr.Radio(list(DEVICES), value=studio.settings.device if studio.settings.device in DEVICES
                                  else "auto", label="Device")
                dtype = gr.Radio(list(DTYPES), value="auto", label="Precision")
                quant = gr.Radio(list(QUANTIZATIONS), value="none", label="Quantization (bitsandbytes: 8-bit, "
                                 "4-bit NF4 with double quantization)")
                attention = gr.Dropdown(list(ATTENTIONS), value="auto", label="Attention implementation")
        estimate = gr.Markdown(elem_id="model-estimate")
        with gr.Row():
            load = gr.Button("Load", variant="primary", elem_id="model-load")
            unload = gr.Button("Unload", elem_id="model-unload")
        progress = gr.Markdown(elem_id="model-progress")

        source_inputs = [kind, preset, hub, folder, gguf]
        option_inputs = [device, dtype, quant, attention]

        def show_fields(selected: str):
            return [gr.update(visible=selected == "Preset"), gr.update(visible=selected == "Preset"),
                    gr.update(visible=selected == "Hub id"), gr.update(visible=selected == "Hub id"),
                    gr.update(visible=selected == "Local folder"), gr.update(visible=selected == "GGUF file")]

        kind.change(show_fields, [kind], [preset, notes, hub, token, folder, gguf], queue=False)

        def on_preset(name: str):
            chosen = presets.get(name)
            if chosen is None:
                return preset_notes(name), gr.update(), gr.update()
            free_gb = _free_gb(studio)
            advice = chosen.recommend(free_gb)
            return preset_notes(name), advice.get("dtype", "auto"), advice.get("quantization", "none")

        preset.input(on_preset, [preset], [notes, dtype, quant], queue=False)

        def estimate_fn(*values: Any) -> str:
            source = source_of(*values[:5])
            if not source:
                return ""
            try:
                return "**Memory:** " + studio.models.estimate(_options(source, *values[5:9])).summary()
            except LoragError as exc:
                return f"**Memory:** {html.escape(str(exc))}"

        gr.on([kind.change, preset.change, device.change, dtype.change, quant.change, hub.blur, folder.blur,
               gguf.blur], estimate_fn, [*source_inputs, *option_inputs], [estimate])

        table, chosen = _adapters_section(studio)

        def load_fn(*values: Any):
            source = source_of(*values[:5])
            token_value = values[5]
            options = _options(source, *values[6:10], token=token_value)
            resolved = studio.models.resolve(source)
            if resolved.kind == "hub" and not resolved.ready:
                for line in _download(studio, resolved.hub_id, token_value):
                    yield line, loaded_status(studio), gr.update()
            note = " (the first time, the demo model is converted from GGUF: about 40 s)" \
                if resolved.kind == "demo" and not resolved.ready else ""
            yield f"Loading {html.escape(resolved.name)}…{note}", loaded_status(studio), gr.update()
            started = time.perf_counter()
            info = studio.models.load(options)
            yield (f"Loaded **{html.escape(info.name)}** in {time.perf_counter() - started:.1f} s.",
                   loaded_status(studio), adapter_rows(studio))

        load.click(shows_errors(load_fn), [*source_inputs, token, *option_inputs], [progress, status, table],
                   concurrency_limit=1, concurrency_id="model-load")

        def unload_fn():
            report = studio.models.unload()
            return (report.summary() if report else "Nothing was loaded."), loaded_status(studio), \
                adapter_rows(studio)

        unload.click(shows_errors(unload_fn), None, [progress, status, table], concurrency_id="model-load")
        tab.select(lambda v: (loaded_status(studio), adapter_rows(studio), adapter_names(studio, v)), [chosen],
                   [status, table, chosen], queue=False)
        tab.select(estimate_fn, [*source_inputs, *option_inputs], [estimate])


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
    job = studio.models.start_download(hub_id, token)
    while True:
        job = studio.jobs.get(job.id)
        if not job.active:
            break
        yield (f"Downloading {html.escape(hub_id)}: {job.progress * 100:.0f}% {html.escape(job.message)} "
               "(keeps going if you close the page)")
        time.sleep(1.0)
    if job.status != "completed":
        raise LoragError(job.message or f"The download of {hub_id} did not finish ({job.status}).")


def _adapters_section(studio: Studio) -> tuple[gr.Dataframe, gr.Dropdown]:
    gr.Markdown("### LoRA adapters\nAdapters live in `data/adapters/<name>/` (safetensors only). Several stay in "
                "memory at once and are swapped per chat message in the **Chat** tab, with no reload.")
    table = gr.Dataframe(value=lambda: adapter_rows(studio), headers=ADAPTER_COLUMNS, interactive=False, wrap=True,
                         elem_id="adapters-table")
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Import")
            new_name = gr.Textbox(label="Name for the adapter", placeholder="my-adapter", elem_id="adapter-new-name")
            with gr.Tab("From a folder"):
                src_folder = gr.Textbox(label="Folder with adapter_config.json + adapter_model.safetensors")
                from_folder = gr.Button("Import folder", size="sm")
            with gr.Tab("Zip upload"):
                src_zip = gr.File(label="Adapter zip", file_types=[".zip"], type="filepath")
                from_zip = gr.Button("Import zip", size="sm")
            with gr.Tab("From the hub"):
                src_hub = gr.Textbox(label="Hub id", placeholder="someone/qwen3-lora")
                hub_token = gr.Textbox(label="Token (gated repositories)", type="password")
                from_hub = gr.Button("Import from hub", size="sm")
        with gr.Column():
            gr.Markdown("#### Manage")
            chosen = gr.Dropdown(choices=[], label="Adapter", elem_id="adapter-chosen")
            with gr.Row():
                refresh = gr.Button("Refresh", size="sm")
                to_memory = gr.Button("Load into memory", size="sm")
                from_memory = gr.Button("Unload from memory", size="sm")
                delete = gr.Button("Delete", size="sm", variant="stop")
            merged_name = gr.Textbox(label="Merged model name (saved in data/models/<name>)")
            merge = gr.Button("Merge into the base and export", size="sm")
            result = gr.Markdown(elem_id="adapter-result")

    outputs = [table, chosen, result]

    def done(message: str, selected: str | None = None):
        return adapter_rows(studio), adapter_names(studio, selected), message

    def import_from(kind: str):
        def run(name: str, source: Any, extra: str = ""):
            if kind == "folder":
                info = studio.adapters.import_folder(source or "", name)
            elif kind == "zip":
                if not source:
                    raise LoragError("Choose a zip file first.")
                info = studio.adapters.import_zip(source, name)
            else:
                info = studio.adapters.import_hub((source or "").strip(), name, token=extra)
            return done(f"Imported **{html.escape(info.name)}**.", info.name)
        return shows_errors(run)

    from_folder.click(import_from("folder"), [new_name, src_folder], outputs)
    from_zip.click(import_from("zip"), [new_name, src_zip], outputs)
    from_hub.click(import_from("hub"), [new_name, src_hub, hub_token], outputs)
    refresh.click(lambda v: done("", v), [chosen], outputs, queue=False)
    chosen.focus(lambda v: adapter_names(studio, v), [chosen], [chosen], queue=False)

    def need(name: str | None) -> str:
        if not name:
            raise LoragError("Choose an adapter first.")
        return name

    def activate(name: str | None):
        seconds = studio.adapters.activate(need(name))
        what = f"loaded in {seconds:.2f} s" if seconds else "already in memory"
        return done(f"**{html.escape(name)}** {what}.", name)

    def drop(name: str | None):
        removed = studio.adapters.unload(need(name))
        return done(f"**{html.escape(name)}** {'unloaded from memory' if removed else 'was not in memory'}.", name)

    def remove(name: str | None):
        studio.adapters.delete(need(name))
        return done(f"Deleted **{html.escape(name)}**.")

    def merge_fn(name: str | None, out_name: str):
        job = studio.adapters.start_merge_export(need(name), (out_name or "").strip())
        while True:
            job = studio.jobs.get(job.id)
            if not job.active:
                break
            yield adapter_rows(studio), gr.update(), f"Merging… {job.progress * 100:.0f}% {html.escape(job.message)}"
            time.sleep(1.0)
        if job.status != "completed":
            raise LoragError(job.message or "The merge did not finish.")
        yield done(f"Merged model saved in `{html.escape(job.result.get('folder', ''))}`; load it as a local "
                   "folder.", name)

    to_memory.click(shows_errors(activate), [chosen], outputs)
    from_memory.click(shows_errors(drop), [chosen], outputs)
    delete.click(shows_errors(remove), [chosen], outputs)
    merge.click(shows_errors(merge_fn), [chosen, merged_name], outputs)
    return table, chosen
