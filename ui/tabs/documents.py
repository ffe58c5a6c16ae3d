"""Documents tab: collections, PDF upload and indexing into Weaviate, search."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio


def create_documents_tab(studio: Studio) -> None:
    with gr.Tab("Documents", id="documents", elem_id="tab-documents"):
        gr.Markdown(
            "### Documents\nNo collections yet. Here you will create a collection, upload PDFs and other files, "
            "watch them being parsed, embedded and stored in Weaviate, and search them. In the **Chat** tab you "
            "can then ask questions whose answers cite file and page.",
            elem_classes="lorag-empty",
        )
