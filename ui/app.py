"""build_app(studio): the one-page Gradio Blocks app with its tabs and status bar."""

from __future__ import annotations

import gradio as gr

from engine.studio import Studio
from ui.i18n import gradio_i18n, t
from ui.language import relabel_tabs_on_load
from ui.statusbar import create_status_bar
from ui.tabs.chat import create_chat_tab
from ui.tabs.documents import create_documents_tab
from ui.tabs.evaluate import create_evaluate_tab
from ui.tabs.models import create_models_tab
from ui.tabs.notebook import create_notebook_tab
from ui.tabs.settings import create_settings_tab
from ui.tabs.training import create_training_tab

CSS = """
.lorag-status { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; font-size: 0.9em; padding: 0.3em 0.6em;
                border-radius: 6px; background: var(--block-background-fill); }
.lorag-weaviate.ok::before { content: "● "; color: #16a34a; }
.lorag-weaviate.down::before { content: "● "; color: #dc2626; }
.lorag-empty { opacity: 0.85; }
"""

TITLE = "Lorag"
# The Gradio endpoints that scripts and tests call, each named with an explicit api_name. Every other event is
# the page's own: hidden from the API, so renaming a handler never renames a public endpoint.
PUBLIC_ENDPOINTS = frozenset({"training_start", "training_job", "on_page_load", "pick_chat"})


def build_app(studio: Studio) -> gr.Blocks:
    with gr.Blocks(title=TITLE) as app:
        app.lorag_studio = studio   # ui.i18n finds the person's language choice through the event's app
        gr.Markdown(t("app.lorag_chat_with"))
        create_status_bar(studio, app)
        with gr.Tabs(elem_id="lorag-tabs"):
            create_chat_tab(studio)
            create_notebook_tab(studio)
            create_documents_tab(studio)
            create_training_tab(studio)
            create_evaluate_tab(studio)
            create_models_tab(studio)
            create_settings_tab(studio)
        relabel_tabs_on_load(studio, app)
    _hide_page_events(app)
    return app


def _hide_page_events(app: gr.Blocks) -> None:
    for event in app.fns.values():
        if event.api_name not in PUBLIC_ENDPOINTS:
            event.api_visibility = "private"


def launch_options() -> dict:
    """Options that Gradio 6 takes at launch() rather than in Blocks()."""
    return {"css": CSS, "theme": gr.themes.Soft(), "i18n": gradio_i18n()}
