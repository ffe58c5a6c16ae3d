"""Chat tab: streaming chat with the loaded model, adapter and document collection per chat."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio


def create_chat_tab(studio: Studio) -> None:
    with gr.Tab("Chat", id="chat", elem_id="tab-chat"):
        gr.Markdown(
            "### Chat\nNo model is loaded yet. Load one in the **Models** tab, then talk to it here: streaming "
            "answers, a LoRA adapter per chat, and answers from your documents with cited pages.",
            elem_classes="lorag-empty",
        )
