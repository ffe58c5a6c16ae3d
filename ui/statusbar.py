"""The status bar under the title: model loaded or not, Weaviate's state. Refreshed by a timer."""

from __future__ import annotations

import html

import gradio as gr

from engine.studio import Studio

REFRESH_SECONDS = 5


def render_status(studio: Studio) -> str:
    status = studio.status()
    wv = status.weaviate
    wv_class = "ok" if wv.running and wv.ready else "down"
    return (
        "<div class='lorag-status'>"
        f"<span class='lorag-model' data-testid='status-model'>Model: {html.escape(status.model)}</span>"
        f"<span class='lorag-weaviate {wv_class}' data-testid='status-weaviate'>{html.escape(wv.summary())}</span>"
        "</div>"
    )


def create_status_bar(studio: Studio) -> gr.HTML:
    """Rendered on each page load and then every few seconds."""
    return gr.HTML(lambda: render_status(studio), every=REFRESH_SECONDS, elem_id="lorag-status")
