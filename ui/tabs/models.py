"""Models tab: load a Qwen model (hub id, folder, GGUF), manage LoRA adapters."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio


def create_models_tab(studio: Studio) -> None:
    with gr.Tab("Models", id="models", elem_id="tab-models"):
        gr.Markdown(
            "### Models\nNo model loaded. Here you will pick a Qwen preset, a local folder or a GGUF file, choose "
            "device, precision and quantization, and load it; and manage LoRA adapters (import, merge, export).",
            elem_classes="lorag-empty",
        )
