"""Notebook tab: raw text completion (no chat template), streamed into the text, with stop and token counts.

The text is kept in the settings table (key notebook.text) after every generation and whenever the box loses
focus, so a reload finds it again.
"""

from __future__ import annotations

import uuid

import gradio as gr

from engine.errors import LoragError
from engine.models.generation import GenerationParams, generation_presets
from engine.ratelimit import RateLimited
from engine.studio import Studio
from ui.errors import shows_errors
from ui.people import GENERATION_QUEUE, count_generation, warn_limited
from ui.tabs.chat_settings import NONE_ADAPTER, adapter_choices

TEXT_KEY = "notebook.text"


def create_notebook_tab(studio: Studio) -> None:
    with gr.Tab("Notebook", id="notebook", elem_id="tab-notebook") as tab:
        gr.Markdown("### Notebook\nWrite the start of a text; the model continues it exactly as written (no chat "
                    "template). Load a model in the **Models** tab first.")
        session = gr.State(lambda: uuid.uuid4().hex)
        with gr.Row():
            with gr.Column(scale=4):
                text = gr.Textbox(value=lambda: studio.store.get_setting(TEXT_KEY, ""), lines=20, max_lines=40,
                                  label="Text", elem_id="notebook-text", buttons=["copy"])
                with gr.Row():
                    generate = gr.Button("Generate", variant="primary", elem_id="notebook-generate")
                    stop = gr.Button("Stop", variant="stop", elem_id="notebook-stop")
                counts = gr.Markdown(elem_id="notebook-counts")
            with gr.Column(scale=1, min_width=240):
                adapter = gr.Dropdown(choices=[NONE_ADAPTER], value=NONE_ADAPTER, label="LoRA adapter",
                                      elem_id="notebook-adapter")
                presets = generation_presets()
                preset = gr.Dropdown(choices=[(p.get("label", n), n) for n, p in presets.items()], value="default",
                                     label="Sampling preset")
                defaults = GenerationParams.from_preset("default")
                max_tokens = gr.Slider(1, 4096, value=200, step=1, label="Max new tokens")
                temperature = gr.Slider(0, 2, value=defaults.temperature, step=0.05, label="Temperature (0 = greedy)")
                top_p = gr.Slider(0.05, 1, value=defaults.top_p, step=0.01, label="top_p")
                top_k = gr.Slider(0, 200, value=defaults.top_k, step=1, label="top_k (0 = off)")
                penalty = gr.Slider(0.8, 2, value=defaults.repetition_penalty, step=0.01, label="Repetition penalty")
                seed = gr.Number(value=-1, precision=0, label="Seed (-1 = random)")

        def apply_preset(name: str):
            params = GenerationParams.from_preset(name)
            return params.temperature, params.top_p, params.top_k, params.repetition_penalty

        preset.input(shows_errors(apply_preset), [preset], [temperature, top_p, top_k, penalty], queue=False)

        def run(request: gr.Request, prompt: str, chosen: str, request_id: str, max_new: int, temp: float, p: float,
                k: int, rep: float, seed_value: int):
            if not prompt:
                raise LoragError("Write the beginning of a text first.")
            try:
                count_generation(studio, request)
            except RateLimited as exc:
                yield gr.skip(), warn_limited(exc)
                return
            params = GenerationParams(temperature=temp, top_p=p, top_k=int(k), repetition_penalty=rep,
                                      max_new_tokens=int(max_new), seed=int(seed_value))
            prompt_tokens = studio.models.count_tokens(prompt)
            adapter_name = None if chosen in (None, NONE_ADAPTER) else chosen
            produced = ""
            try:
                for event in studio.models.stream_completion(prompt, params, adapter=adapter_name,
                                                             request_id=request_id):
                    produced = event.answer
                    if event.kind == "done":
                        s = event.stats
                        note = {"length": " · reached max tokens", "stopped": " · stopped"}.get(s.finish_reason, "")
                        yield prompt + produced, (f"Prompt {s.prompt_tokens} tokens · generated {s.completion_tokens}"
                                                  f" tokens · {s.tokens_per_second:.1f} tok/s{note}")
                    else:
                        yield prompt + produced, f"Prompt {prompt_tokens} tokens · generating…"
            finally:
                studio.store.set_setting(TEXT_KEY, prompt + produced)

        generate.click(shows_errors(run), [text, adapter, session, max_tokens, temperature, top_p, top_k, penalty,
                                           seed], [text, counts], **GENERATION_QUEUE)
        stop.click(lambda request_id: studio.models.stop(request_id) and None, [session], None, queue=False)
        text.blur(lambda value: studio.store.set_setting(TEXT_KEY, value or ""), [text], None, queue=False)

        def count(value: str) -> str:
            return f"{studio.models.count_tokens(value)} tokens" if studio.models.current else ""

        text.blur(count, [text], [counts], queue=False)
        tab.select(lambda v: adapter_choices(studio, v), [adapter], [adapter], queue=False)
        adapter.focus(lambda v: adapter_choices(studio, v), [adapter], [adapter], queue=False)
