"""The Models tab's part for an OpenAI-compatible engine (--engine-url): its models as load choices. Its texts are
the catalogues' models.engine_* keys."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from engine.errors import LoragError
from engine.studio import Studio
from ui.i18n import say, t

ENGINE_KIND = "Engine"


def engine_field() -> gr.Dropdown:
    return gr.Dropdown(choices=[], label=t("models.engine_label"), visible=False, elem_id="model-engine")


def engine_choices(studio: Studio, visible: bool) -> dict[str, Any]:
    """The engine's models, listed afresh each time the Engine kind is picked (the engine may have changed)."""
    if not visible:
        return gr.update(visible=False)
    if not studio.settings.engine_url:
        return gr.update(visible=True, choices=[], value=None, info=say("models.engine_none"))
    try:
        sources = studio.models.engine_models()
    except LoragError as exc:
        return gr.update(visible=True, choices=[], value=None, info=str(exc))
    choices = [(source.split(":", 1)[1], source) for source in sources]
    return gr.update(visible=True, choices=choices, value=sources[0] if sources else None,
                     info=say("models.engine_note", url=studio.settings.engine_url))


def engine_note(studio: Studio) -> str:
    return say("models.engine_memory", note=html.escape(say("models.engine_note", url=studio.settings.engine_url)))
