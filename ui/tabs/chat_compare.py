"""The Chat tab's compare panel: one prompt answered by the base model and by an adapter, side by side, with the
chat's sampling settings, thinking switches and the same seed for both."""

from __future__ import annotations

import html
from typing import Any, Iterator

import gradio as gr

from engine.chat_turn import chat_switches
from engine.errors import LoragError
from engine.models.generation import GenerationParams
from engine.ratelimit import RateLimited
from engine.studio import Studio
from ui.errors import shows_errors, warn_limited
from ui.i18n import say, t
from ui.people import GENERATION_QUEUE, count_generation
from ui.tabs.chat_settings import NONE_ADAPTER, relist_adapters, settings_from_controls
from ui.tabs.chat_view import stats_line


class ComparePanel:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    @staticmethod
    def value_of(settings: dict[str, Any]) -> str:
        return settings.get("compare_adapter") or settings.get("adapter") or NONE_ADAPTER

    def build(self) -> None:
        with gr.Accordion(t("chat_compare.compare_base_vs"), open=False, elem_id="chat-compare"):
            with gr.Row():
                self.adapter = gr.Dropdown(choices=[(t("common.none"), NONE_ADAPTER)], value=NONE_ADAPTER,
                                           label=t("chat_compare.adapter"),
                                           scale=1,
                                           elem_id="compare-adapter")
                self.prompt = gr.Textbox(label=t("chat_compare.prompt_same_sampling"), lines=2,
                                         scale=3, elem_id="compare-prompt")
                self.button = gr.Button(t("chat_compare.compare"), scale=1, elem_id="compare-run")
            with gr.Row(equal_height=True):
                self.base_out = gr.Markdown(label=t("chat_compare.base"), elem_id="compare-base", container=True)
                self.adapter_out = gr.Markdown(label=t("chat_compare.adapter"), elem_id="compare-adapter-out",
                                               container=True)

    def wire(self, inputs: list[gr.components.Component]) -> None:
        """`inputs`: the chat's settings controls (their sampling settings are used for both answers)."""
        self.button.click(shows_errors(self.run), [self.adapter, self.prompt, *inputs],
                          [self.base_out, self.adapter_out], **GENERATION_QUEUE)
        self.adapter.focus(lambda v: relist_adapters(self.studio, v), [self.adapter], [self.adapter], queue=False)

    def run(self, request: gr.Request, adapter: str, prompt: str, *values: Any) -> Iterator[tuple[str, str]]:
        if not adapter or adapter == NONE_ADAPTER:
            raise LoragError("Pick the adapter to compare with the base model.", key="chat.pick_adapter_to_compare")
        if not (prompt or "").strip():
            raise LoragError("Write the prompt to compare.", key="chat.write_prompt_to_compare")
        try:
            count_generation(self.studio, request)
        except RateLimited as exc:
            yield warn_limited(exc), gr.skip()
            return
        yield from compare_stream(self.studio, adapter, prompt, settings_from_controls(*values))


def compare_stream(studio: Studio, adapter: str, prompt: str, settings: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The same prompt and the same seed, answered by the base and by the adapter (one after the other)."""
    import random

    params = GenerationParams.from_dict(settings["params"])
    if params.seed < 0:
        params.seed = random.randrange(2**31)
    messages = ([{"role": "system", "content": settings["system_prompt"]}] if settings["system_prompt"] else [])
    messages.append({"role": "user", "content": prompt})
    texts = {"base": "", "adapter": ""}
    switches = chat_switches(studio.models, settings)   # Keep earlier reasoning / Reasoning effort, as in the chat

    def show(which: str, body: str, footer: str = "") -> str:
        label = (say("chat_compare.base_model_head") if which == "base"
                 else say("chat_compare.adapter_head", name=adapter))
        return f"**{label}**\n\n{body}" + (f"\n\n<small>{html.escape(footer)}</small>" if footer else "")

    for which, name in (("base", None), ("adapter", adapter)):
        for event in studio.models.stream_chat(messages, params, adapter=name, thinking=settings["thinking"],
                                               request_id=f"compare-{which}", **switches):
            footer = stats_line(event.stats.to_meta()) if event.kind == "done" and event.stats else "…"
            texts[which] = show(which, event.answer or say("chat_compare.thinking"), footer)
            waiting = say("chat_compare.waiting_for_base")
            yield texts["base"] or show("base", "…"), texts["adapter"] or show("adapter", waiting)
