"""The Models tab's LoRA adapters section: the table of adapters on disk, import (folder, zip, hub) and manage
(load into memory, unload, delete, merge into the base and export)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, Callable, Iterator

import gradio as gr

from engine.errors import LoragError
from engine.studio import Studio
from ui.errors import said, warns
from ui.i18n import headers, say, t, table

ADAPTER_COLUMNS = [f"table.adapter.{name}" for name in ("name", "made_for", "rank", "alpha", "targets", "source",
                                                        "created", "fits", "in_memory", "mb")]


def adapter_rows(studio: Studio) -> dict:
    rows = []
    for info in studio.adapters.list():
        meta = info.meta
        if info.error:
            fits = f"✗ {info.error}"
        elif info.compatible is None:
            fits = say("adapters.no_model_loaded")
        else:
            fits = "✓" if info.compatible else f"✗ {said(info.reason)}"
        resident = say("adapters.resident_yes") if info.resident else ""
        created = datetime.fromtimestamp(meta.created_at).strftime("%Y-%m-%d %H:%M") if meta.created_at else ""
        rows.append([info.name, meta.base.model or meta.base.architecture or "?", meta.rank, meta.alpha,
                     ", ".join(meta.target_modules), meta.source, created, fits, resident,
                     round(info.size_bytes / 1e6, 1)])
    return table(ADAPTER_COLUMNS, rows)


def adapter_names(studio: Studio, value: str | None = None) -> dict[str, Any]:
    names = [info.name for info in studio.adapters.list()]
    return gr.update(choices=names, value=value if value in names else (names[0] if names else None))


class AdaptersSection:
    """Build with build() inside the Models tab; `table` and `chosen` are refreshed by the tab's own events."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    # --- layout --------------------------------------------------------------------------------------------
    def build(self) -> None:
        gr.Markdown(t("models_adapters.lora_adapters_adapters"))
        self.table = gr.Dataframe(value=lambda: adapter_rows(self.studio), headers=headers(ADAPTER_COLUMNS),
                                  interactive=False, wrap=True, elem_id="adapters-table")
        with gr.Row():
            with gr.Column():
                self._import_column()
            with gr.Column():
                self._manage_column()
        self._wire()

    def _import_column(self) -> None:
        gr.Markdown(t("models_adapters.import"))
        self.new_name = gr.Textbox(label=t("models_adapters.name_for_the"), placeholder=t("models_adapters.my_adapter"),
                                   elem_id="adapter-new-name")
        with gr.Tab(t("models_adapters.from_a_folder")):
            self.src_folder = gr.Textbox(label=t("models_adapters.folder_with_adapter"))
            self.from_folder = gr.Button(t("models_adapters.import_folder"), size="sm")
        with gr.Tab(t("models_adapters.zip_upload")):
            self.src_zip = gr.File(label=t("models_adapters.adapter_zip"), file_types=[".zip"], type="filepath")
            self.from_zip = gr.Button(t("models_adapters.import_zip"), size="sm")
        with gr.Tab(t("models_adapters.from_the_hub")):
            self.src_hub = gr.Textbox(label=t("models_adapters.hub_id"),
                                      placeholder=t("models_adapters.someone_qwen3_lora"))
            self.hub_token = gr.Textbox(label=t("models_adapters.token_gated_repositories"), type="password")
            self.from_hub = gr.Button(t("models_adapters.import_from_hub"), size="sm")

    def _manage_column(self) -> None:
        gr.Markdown(t("models_adapters.manage"))
        self.chosen = gr.Dropdown(choices=[], label=t("models_adapters.adapter"), elem_id="adapter-chosen")
        with gr.Row():
            self.refresh = gr.Button(t("models_adapters.refresh"), size="sm")
            self.to_memory = gr.Button(t("models_adapters.load_into_memory"), size="sm")
            self.from_memory = gr.Button(t("models_adapters.unload_from_memory"), size="sm")
            self.delete = gr.Button(t("models_adapters.delete"), size="sm", variant="stop")
        self.merged_name = gr.Textbox(label=t("models_adapters.merged_model_name"))
        self.merge = gr.Button(t("models_adapters.merge_into_the"), size="sm")
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
                raise LoragError("Choose a zip file first.", key="adapters.choose_zip")
            info = adapters.import_zip(source, name)
        else:
            info = adapters.import_hub((source or "").strip(), name, token=token)
        return self.done(say("adapters.imported_line", name=html.escape(info.name)), info.name)

    @staticmethod
    def need(name: str | None) -> str:
        if not name:
            raise LoragError("Choose an adapter first.", key="adapters.choose_first")
        return name

    def on_activate(self, name: str | None) -> tuple:
        seconds = self.studio.adapters.activate(self.need(name))
        message = (say("adapters.loaded_in", name=html.escape(name), seconds=f"{seconds:.2f}") if seconds
                   else say("adapters.already_in_memory", name=html.escape(name)))
        return self.done(message, name)

    def on_drop(self, name: str | None) -> tuple:
        removed = self.studio.adapters.unload(self.need(name))
        return self.done(say("adapters.unloaded_line" if removed else "adapters.not_in_memory",
                             name=html.escape(name)), name)

    def on_remove(self, name: str | None) -> tuple:
        self.studio.adapters.delete(self.need(name))
        return self.done(say("adapters.deleted_line", name=html.escape(name)))

    def on_merge(self, name: str | None, out_name: str) -> Iterator[tuple]:
        """Merge as a job, showing its progress here until it ends."""
        studio = self.studio
        started = studio.adapters.start_merge_export(self.need(name), (out_name or "").strip())
        for job in studio.jobs.follow(started.id):
            if job.active:
                progress = say("adapters.merging_line", percent=f"{job.progress * 100:.0f}",
                               message=html.escape(job.message))
                yield adapter_rows(studio), gr.update(), progress
        if job.status != "completed":
            raise job.refusal() if job.message else LoragError("The merge did not finish.",
                                                               key="adapters.merge_unfinished")
        yield self.done(say("adapters.merged_line", folder=html.escape(job.result.get("folder", ""))), name)
