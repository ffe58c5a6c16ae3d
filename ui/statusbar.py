"""The status bar under the title: model loaded or not, Weaviate's state. Refreshed by a timer."""

from __future__ import annotations

import html

import gradio as gr

from engine.studio import Studio
from engine.weaviate.status import WeaviateStatus
from ui.i18n import say

REFRESH_SECONDS = 5


def weaviate_line(wv: WeaviateStatus) -> str:
    """WeaviateStatus.summary() in the person's language (the engine's own error text stays as it is)."""
    if not wv.running:
        return say("status.weaviate_down", error=wv.error or say("status.not_running"))
    count = say("status.objects", count=wv.object_count) if wv.object_count is not None else ""
    where = say("status.managed" if wv.managed else "status.external")
    return say("status.weaviate_running", version=wv.version, where=where, url=wv.url, count=count) + _nodes(wv)


def _nodes(wv: WeaviateStatus) -> str:
    """WeaviateStatus.nodes_summary(): every node of a cluster and its health ('' for one node)."""
    if not wv.cluster:
        return ""
    listed = ", ".join(f"{n.name} {n.status}" for n in wv.nodes)
    return say("status.nodes", healthy=wv.healthy_nodes, total=max(len(wv.nodes), wv.expected_nodes), listed=listed)


def render_status(studio: Studio, username: str | None = None) -> str:
    status = studio.status()
    wv = status.weaviate
    wv_class = "ok" if wv.running and wv.ready and not wv.degraded else "down"
    models = studio.started_models()
    model = say("status.no_model") if models is None or models.empty else status.model
    model_text, weaviate_text = html.escape(say("status.model", model=model)), html.escape(weaviate_line(wv))
    parts = [
        f"<span class='lorag-model' data-testid='status-model'>{model_text}</span>",
        f"<span class='lorag-weaviate {wv_class}' data-testid='status-weaviate'>{weaviate_text}</span>",
    ]
    if studio.share.requested:
        parts.append(f"<span data-testid='status-share'>{html.escape(studio.share.summary())}</span>")
    if username:
        parts.append(f"<span data-testid='status-user'>{html.escape(say('status.signed_in', user=username))}</span>")
    return "<div class='lorag-status'>" + "".join(parts) + "</div>"


def create_status_bar(studio: Studio, app: gr.Blocks) -> gr.HTML:
    """Rendered on each page load (with the signed-in user) and then every few seconds."""
    bar = gr.HTML(elem_id="lorag-status")

    def refresh(request: gr.Request) -> str:
        return render_status(studio, getattr(request, "username", None))

    app.load(refresh, outputs=bar, show_progress="hidden")
    gr.Timer(REFRESH_SECONDS).tick(refresh, outputs=bar, show_progress="hidden")
    return bar
