"""The Models tab's LoRA adapters section: the table of adapters on disk, import (folder, zip, hub) and manage
(load into memory, unload, delete, merge into the base and export)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Callable, Iterator

import gradio as gr

from engine.errors import LoragError
from engine.studio import Studio
from ui.errors import warns

ADAPTER_COLUMNS = ["Name", "Made for", "Rank", "Alpha", "Targets", "Source", "Created", "Fits loaded model",
                   "In memory", "MB"]


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


class AdaptersSection:
    """Build with build() inside the Models tab; `table` and `chosen` are refreshed by the tab's own events."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    # --- layout --------------------------------------------------------------------------------------------
    def build(self) -> None:
        gr.Markdown("### LoRA adapters\nAdapters live in `data/adapters/<name>/` (safetensors only). Several stay "
                    "in memory at once and are swapped per chat message in the **Chat** tab, with no reload.")
        self.table = gr.Dataframe(value=lambda: adapter_rows(self.studio), headers=ADAPTER_COLUMNS,
                                  interactive=False, wrap=True, elem_id="adapters-table")
        with gr.Row():
            with gr.Column():
                self._import_column()
            with gr.Column():
                self._manage_column()
        self._wire()

    def _import_column(self) -> None:
        gr.Markdown("#### Import")
        self.new_name = gr.Textbox(label="Name for the adapter", placeholder="my-adapter",
                                   elem_id="adapter-new-name")
        with gr.Tab("From a folder"):
            self.src_folder = gr.Textbox(label="Folder with adapter_config.json + adapter_model.safetensors")
            self.from_folder = gr.Button("Import folder", size="sm")
        with gr.Tab("Zip upload"):
            self.src_zip = gr.File(label="Adapter zip", file_types=[".zip"], type="filepath")
            self.from_zip = gr.Button("Import zip", size="sm")
        with gr.Tab("From the hub"):
            self.src_hub = gr.Textbox(label="Hub id", placeholder="someone/qwen3-lora")
            self.hub_token = gr.Textbox(label="Token (gated repositories)", type="password")
            self.from_hub = gr.Button("Import from hub", size="sm")

    def _manage_column(self) -> None:
        gr.Markdown("#### Manage")
        self.chosen = gr.Dropdown(choices=[], label="Adapter", elem_id="adapter-chosen")
        with gr.Row():
            self.refresh = gr.Button("Refresh", size="sm")
            self.to_memory = gr.Button("Load into memory", size="sm")
            self.from_memory = gr.Button("Unload from memory", size="sm")
            self.delete = gr.Button("Delete", size="sm", variant="stop")
        self.merged_name = gr.Textbox(label="Merged model name (saved in data/models/<name>)")
        self.merge = gr.Button("Merge into the base and export", size="sm")
        self.result = gr.Markdown(elem_id="adapter-result")

    # --- events --------------------------------------------------------------------------------------------
    def _wire(self) -> None:
        outputs = [self.table, self.chosen, self.result]
        self.from_folder.click(self.on_import("folder"), [self.new_name, self.src_folder], outputs)
        self.from_zip.click(self.on_import("zip"), [self.new_name, self.src_zip], outputs)
        self.from_hub.click(self.on_import("hub"), [self.new_name, self.src_hub, self.hub_token], outputs)
        self.refresh.click(lambda v: self.done("", v), [self.chosen], outputs, queue=False)
        self.chosen.focus(lambda v: adapter_names(self.studio, v), [self.chosen], [self.chosen], queue=False)
        self.to_memory.click(warns(self.on_activate), [self.chosen], outputs)
        self.from_memory.click(warns(self.on_drop), [self.chosen], outputs)
        self.delete.click(warns(self.on_remove), [self.chosen], outputs)
        self.merge.click(warns(self.on_merge), [self.chosen, self.merged_name], outputs)

    # --- handlers ------------------------------------------------------------------------------------------
    def done(self, message: str, selected: str | None = None) -> tuple:
        """Values for (table, chosen, result): fresh lists and a message."""
        return adapter_rows(self.studio), adapter_names(self.studio, selected), message

    def on_import(self, kind: str) -> Callable[..., tuple]:
        """The handler importing from `kind` (folder, zip, hub)."""
        def run(name: str, source: Any, extra: str = ""):
            return self.import_adapter(kind, name, source, extra)
        return warns(run)

    def import_adapter(self, kind: str, name: str, source: Any, token: str = "") -> tuple:
        adapters = self.studio.adapters
        if kind == "folder":
            info = adapters.import_folder(source or "", name)
        elif kind == "zip":
            if not source:
                raise LoragError("Choose a zip file first.")
            info = adapters.import_zip(source, name)
        else:
            info = adapters.import_hub((source or "").strip(), name, token=token)
        return self.done(f"Imported **{html.escape(info.name)}**.", info.name)

    @staticmethod
    def need(name: str | None) -> str:
        if not name:
            raise LoragError("Choose an adapter first.")
        return name

    def on_activate(self, name: str | None) -> tuple:
        seconds = self.studio.adapters.activate(self.need(name))
        what = f"loaded in {seconds:.2f} s" if seconds else "already in memory"
        return self.done(f"**{html.escape(name)}** {what}.", name)

    def on_drop(self, name: str | None) -> tuple:
        removed = self.studio.adapters.unload(self.need(name))
        return self.done(f"**{html.escape(name)}** {'unloaded from memory' if removed else 'was not in memory'}.",
                         name)

    def on_remove(self, name: str | None) -> tuple:
        self.studio.adapters.delete(self.need(name))
        return self.done(f"Deleted **{html.escape(name)}**.")

    def on_merge(self, name: str | None, out_name: str) -> Iterator[tuple]:
        """Merge as a job, showing its progress here until it ends."""
        studio = self.studio
        started = studio.adapters.start_merge_export(self.need(name), (out_name or "").strip())
        for job in studio.jobs.follow(started.id):
            if job.active:
                progress = f"Merging… {job.progress * 100:.0f}% {html.escape(job.message)}"
                yield adapter_rows(studio), gr.update(), progress
        if job.status != "completed":
            raise LoragError(job.message or "The merge did not finish.")
        yield self.done(f"Merged model saved in `{html.escape(job.result.get('folder', ''))}`; load it as a local "
                        "folder.", name)
