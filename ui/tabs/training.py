"""Training tab: upload a JSONL dataset, fill the form, run and watch a LoRA fine-tune."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio


def create_training_tab(studio: Studio) -> None:
    with gr.Tab("Training", id="training", elem_id="tab-training"):
        gr.Markdown(
            "### Training\nNo training jobs yet. Here you will upload a .jsonl or .json dataset, see its format "
            "detected and a preview through the model's chat template, fill in a form and fine-tune a LoRA "
            "adapter, with a live loss curve. Jobs keep running when you close the tab.",
            elem_classes="lorag-empty",
        )
