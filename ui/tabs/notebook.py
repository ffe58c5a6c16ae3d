"""Notebook tab: raw text completion with the loaded model (no chat template)."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio


def create_notebook_tab(studio: Studio) -> None:
    with gr.Tab("Notebook", id="notebook", elem_id="tab-notebook"):
        gr.Markdown(
            "### Notebook\nFree text completion: write the start of a text and the model continues it, token by "
            "token, exactly as written (no chat template). Load a model in the **Models** tab first.",
            elem_classes="lorag-empty",
        )
