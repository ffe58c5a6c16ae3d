"""Notebook tab: raw text completion (no chat template), streamed into the text, with stop and token counts.

The text is kept in the settings table (key notebook.text, one per person when logins are on) after every
generation and whenever the box loses focus, so a reload finds it again.
"""

from __future__ import annotations

import uuid

import gradio as gr

from engine.errors import LoragError
from engine.models.generation import GenerationParams, generation_presets
from engine.ratelimit import RateLimited
from engine.studio import Studio
from ui.errors import shows_errors, warn_limited
from ui.i18n import say, t
from ui.people import GENERATION_QUEUE, count_generation, owner
from ui.tabs.chat_settings import NONE_ADAPTER, relist_adapters

TEXT_KEY = "notebook.text"


def text_key(studio: Studio, request: gr.Request | None) -> str:
    """Where this person's notebook text is kept (everyone shares one without logins)."""
    who = owner(studio, request)
    return f"{TEXT_KEY}.{who}" if who else TEXT_KEY


def finish_line(stats) -> str:
    note = {"length": " · " + say("notebook.reached_max"), "stopped": " · " + say("notebook.stopped")}.get(
        stats.finish_reason, "")
    return say("notebook.finish_line", prompt=stats.prompt_tokens, generated=stats.completion_tokens,
               speed=f"{stats.tokens_per_second:.1f}", note=note)


class _NotebookTab:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self) -> None:
        with gr.Tab(t("notebook.notebook"), id="notebook", elem_id="tab-notebook") as self.tab:
            gr.Markdown(t("notebook.notebook_write_the"))
            self.session = gr.State(lambda: uuid.uuid4().hex)
            with gr.Row():
                with gr.Column(scale=4):
                    self._text_column()
                with gr.Column(scale=1, min_width=240):
                    self._sampling_column()
        self._wire()

    def _text_column(self) -> None:
        self.text = gr.Textbox(lines=20, max_lines=40, label=t("notebook.text"), elem_id="notebook-text",
                               buttons=["copy"])
        with gr.Row():
            self.generate = gr.Button(t("notebook.generate"), variant="primary", elem_id="notebook-generate")
            self.stop = gr.Button(t("notebook.stop"), variant="stop", elem_id="notebook-stop")
        self.counts = gr.Markdown(elem_id="notebook-counts")

    def _sampling_column(self) -> None:
        self.adapter = gr.Dropdown(choices=[(t("common.none"), NONE_ADAPTER)], value=NONE_ADAPTER,
                                   label=t("notebook.lora_adapter"),
                                   elem_id="notebook-adapter")
        presets = generation_presets()
        self.preset = gr.Dropdown(choices=[(p.get("label", n), n) for n, p in presets.items()], value="default",
                                  label=t("notebook.sampling_preset"), elem_id="notebook-preset")
        defaults = GenerationParams.from_preset("default")
        self.max_tokens = gr.Slider(1, 4096, value=200, step=1, label=t("notebook.max_new_tokens"))
        self.temperature = gr.Slider(0, 2, value=defaults.temperature, step=0.05,
                                     label=t("notebook.temperature_0_greedy"))
        self.top_p = gr.Slider(0.05, 1, value=defaults.top_p, step=0.01, label=t("notebook.top_p"))
        self.top_k = gr.Slider(0, 200, value=defaults.top_k, step=1, label=t("notebook.top_k_0"))
        self.penalty = gr.Slider(0.8, 2, value=defaults.repetition_penalty, step=0.01,
                                 label=t("notebook.repetition_penalty"))
        self.seed = gr.Number(value=-1, precision=0, label=t("notebook.seed_1_random"))

    def _wire(self) -> None:
        sampling = [self.temperature, self.top_p, self.top_k, self.penalty]
        self.preset.input(shows_errors(self.on_preset), [self.preset], sampling, queue=False)
        self.generate.click(shows_errors(self.on_generate), [self.text, self.adapter, self.session, self.max_tokens,
                                                     *sampling, self.seed], [self.text, self.counts],
                            **GENERATION_QUEUE)
        self.stop.click(lambda request_id: self.studio.models.stop(request_id) and None, [self.session], None,
                        queue=False)
        self.text.blur(self.on_save_text, [self.text], None, queue=False)
        self.text.blur(self.on_count, [self.text], [self.counts], queue=False)
        gr.on(None, self.on_open, None, [self.text])  # on page load: this person's text
        self.tab.select(lambda v: relist_adapters(self.studio, v), [self.adapter], [self.adapter], queue=False)
        self.adapter.focus(lambda v: relist_adapters(self.studio, v), [self.adapter], [self.adapter], queue=False)

    # --- handlers ----------------------------------------------------------------------------------------------
    @staticmethod
    def on_preset(name: str):
        params = GenerationParams.from_preset(name)
        return params.temperature, params.top_p, params.top_k, params.repetition_penalty

    def on_open(self, request: gr.Request) -> str:
        return self.studio.store.get_setting(text_key(self.studio, request), "")

    def on_save_text(self, request: gr.Request, value: str) -> None:
        self.studio.store.set_setting(text_key(self.studio, request), value or "")

    def on_count(self, value: str) -> str:
        return say("notebook.token_count", count=self.studio.models.count_tokens(value)) if self.studio.models.current \
            else ""

    def on_generate(self, request: gr.Request, prompt: str, chosen: str, request_id: str, max_new: int, temp: float,
            p: float, k: int, rep: float, seed_value: int):
        if not prompt:
            raise LoragError("Write the beginning of a text first.", key="notebook.write_first")
        try:
            count_generation(self.studio, request)
        except RateLimited as exc:
            yield gr.skip(), warn_limited(exc)
            return
        params = GenerationParams(temperature=temp, top_p=p, top_k=int(k), repetition_penalty=rep,
                                  max_new_tokens=int(max_new), seed=int(seed_value))
        prompt_tokens = self.studio.models.count_tokens(prompt)
        adapter_name = None if chosen in (None, NONE_ADAPTER) else chosen
        produced = ""
        try:
            for event in self.studio.models.stream_completion(prompt, params, adapter=adapter_name,
                                                              request_id=request_id):
                produced = event.answer
                status = finish_line(event.stats) if event.kind == "done" else \
                    say("notebook.generating_line", prompt=prompt_tokens)
                yield prompt + produced, status
        finally:
            self.on_save_text(request, prompt + produced)


def create_notebook_tab(studio: Studio) -> None:
    _NotebookTab(studio).build()
