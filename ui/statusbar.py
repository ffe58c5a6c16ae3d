"""The status bar under the title: model loaded or not, Weaviate's state. Refreshed by a timer."""

from __future__ import annotations

import html

import gradio as gr

from engine.studio import Studio

REFRESH_SECONDS = 5


def render_status(studio: Studio, username: str | None = None) -> str:
    status = studio.status()
    wv = status.weaviate
    wv_class = "ok" if wv.running and wv.ready else "down"
    parts = [
        f"<span class='lorag-model' data-testid='status-model'>Model: {html.escape(status.model)}</span>",
        f"<span class='lorag-weaviate {wv_class}' data-testid='status-weaviate'>{html.escape(wv.summary())}</span>",
    ]
    if studio.share.requested:
        parts.append(f"<span data-testid='status-share'>{html.escape(studio.share.summary())}</span>")
    if username:
        parts.append(f"<span data-testid='status-user'>Signed in as {html.escape(username)}</span>")
    return "<div class='lorag-status'>" + "".join(parts) + "</div>"


def create_status_bar(studio: Studio, app: gr.Blocks) -> gr.HTML:
    """Rendered on each page load (with the signed-in user) and then every few seconds."""
    bar = gr.HTML(elem_id="lorag-status")

    def refresh(request: gr.Request) -> str:
        return render_status(studio, getattr(request, "username", None))

    app.load(refresh, outputs=bar, show_progress="hidden")
    gr.Timer(REFRESH_SECONDS).tick(refresh, outputs=bar, show_progress="hidden")
    return bar
