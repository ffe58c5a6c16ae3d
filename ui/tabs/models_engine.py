"""The Models tab's part for an OpenAI-compatible engine (--engine-url): its models as load choices. Every text
this part shows is here, in one place."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from engine.errors import LoragError
from engine.studio import Studio

ENGINE_KIND = "Engine"
ENGINE_LABEL = "Model on the engine"
NO_ENGINE = "No engine is set: start Lorag with --engine-url URL (vLLM, SGLang, llama.cpp, Ollama or another Lorag)."
ENGINE_NOTE = "Runs on the engine at {url}: no memory is used here."


def engine_field() -> gr.Dropdown:
    return gr.Dropdown(choices=[], label=ENGINE_LABEL, visible=False, elem_id="model-engine")


def engine_choices(studio: Studio, visible: bool) -> dict[str, Any]:
    """The engine's models, listed afresh each time the Engine kind is picked (the engine may have changed)."""
    if not visible:
        return gr.update(visible=False)
    if not studio.settings.engine_url:
        return gr.update(visible=True, choices=[], value=None, info=NO_ENGINE)
    try:
        sources = studio.models.engine_models()
    except LoragError as exc:
        return gr.update(visible=True, choices=[], value=None, info=str(exc))
    choices = [(source.split(":", 1)[1], source) for source in sources]
    return gr.update(visible=True, choices=choices, value=sources[0] if sources else None,
                     info=ENGINE_NOTE.format(url=studio.settings.engine_url))


def engine_note(studio: Studio) -> str:
    return "**Memory:** " + html.escape(ENGINE_NOTE.format(url=studio.settings.engine_url))
