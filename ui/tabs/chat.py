"""Chat tab: saved chats, streaming replies, a LoRA adapter per chat, Qwen3 thinking, compare base vs adapter.

Everything that matters lives in SQLite (studio.chats): the open chat, its messages and its settings (adapter,
system prompt, sampling, thinking) are read back on every page load, so a reload or a restart loses nothing.
A reply always goes through `stream_reply_view`; with a documents collection chosen for the chat it gets the
`prepare` hook for retrieval, and the answer's sources show under it (ui.tabs.chat_documents builds that part).
"""

from __future__ import annotations

import html
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import gradio as gr

from engine.chats import CONTINUE, NEW, NO_MODEL_REPLY, REGENERATE, Chat, stream_reply
from engine.errors import LoragError
from engine.models.generation import GenerationParams, generation_presets
from engine.ratelimit import RateLimited
from engine.studio import Studio
from ui.errors import shows_errors
from ui.people import GENERATION_QUEUE, count_generation, over_limit, owner, viewer, warn_limited
from ui.tabs.chat_documents import ChatDocuments, sources_message

NONE_ADAPTER = "none"
PARAM_NAMES = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens", "seed")


# --- what the chatbot shows -----------------------------------------------------------------------------
def stats_line(meta: dict[str, Any]) -> str:
    if not meta.get("completion_tokens") and not meta.get("finish_reason"):
        return ""
    if meta.get("finish_reason") == NO_MODEL_REPLY:
        return "nothing relevant in the documents: the model was not asked"
    parts = [f"{meta.get('completion_tokens', 0)} tokens", f"{meta.get('tokens_per_second', 0):.1f} tok/s",
             f"prompt {meta.get('prompt_tokens', 0)}"]
    if meta.get("time_to_first_token"):
        parts.append(f"first token {meta['time_to_first_token'] * 1000:.0f} ms")
    parts.append(f"adapter: {meta.get('adapter') or 'none'}")
    reason = meta.get("finish_reason")
    if reason == "length":
        parts.append("cut at max tokens")
    elif reason == "stopped":
        parts.append("stopped")
    return " · ".join(parts)


def stats_details(meta: dict[str, Any]) -> str:
    keys = ("model", "adapter", "seed", "finish_reason", "thinking", "seconds")
    rows = [f"{k}: {meta[k] if meta.get(k) not in (None, '') else '—'}" for k in keys if k in meta]
    params = meta.get("params") or {}
    if params:
        rows.append("sampling: " + ", ".join(f"{k}={v}" for k, v in params.items() if k != "stop" or v))
    return "\n".join(rows)


def thought(text: str, pending: bool = False) -> dict[str, Any]:
    return {"role": "assistant", "content": text,
            "metadata": {"title": "Reasoning", "status": "pending" if pending else "done"}}


def assistant_messages(answer: str, reasoning: str, meta: dict[str, Any] | None, streaming: bool = False) -> list:
    out = []
    if reasoning:
        out.append(thought(reasoning, pending=streaming and not answer))
    if answer or not streaming:
        out.append({"role": "assistant", "content": answer or ("*(no answer)*" if reasoning else "")})
    sources = sources_message(meta or {}) if not streaming else None
    if sources:
        out.append(sources)
    line = stats_line(meta or {})
    if line:
        out.append({"role": "assistant", "content": stats_details(meta), "metadata": {"title": line, "status": "done"}})
    return out


def chat_display(chat: Chat | None) -> tuple[list[dict[str, Any]], list[int]]:
    """Chatbot messages and, for each, the position of the stored message it shows (edits map back with it)."""
    shown: list[dict[str, Any]] = []
    positions: list[int] = []
    for m in chat.messages if chat else []:
        if m.role == "user":
            items = [{"role": "user", "content": m.content}]
        elif m.role == "assistant":
            items = assistant_messages(m.content, m.reasoning, m.meta)
        else:
            continue
        shown += items
        positions += [m.position] * len(items)
    return shown, positions


# --- settings controls <-> a chat's settings JSON --------------------------------------------------------
@dataclass
class Controls:
    adapter: gr.Dropdown
    thinking: gr.Checkbox
    system: gr.Textbox
    preset: gr.Dropdown
    params: list[gr.components.Component]
    stop: gr.Textbox

    def all(self) -> list[gr.components.Component]:
        return [self.adapter, self.thinking, self.system, self.preset, *self.params, self.stop]


def settings_from_controls(adapter: str, thinking: bool, system: str, preset: str, *rest: Any) -> dict[str, Any]:
    values, stop_text = rest[:len(PARAM_NAMES)], rest[len(PARAM_NAMES)]
    raw = dict(zip(PARAM_NAMES, values, strict=True))
    raw["top_k"], raw["max_new_tokens"], raw["seed"] = int(raw["top_k"]), int(raw["max_new_tokens"]), int(raw["seed"])
    raw["stop"] = [s for s in (stop_text or "").splitlines() if s]
    params = GenerationParams.from_dict(raw)
    return {"adapter": "" if adapter in (None, NONE_ADAPTER) else adapter, "thinking": bool(thinking),
            "system_prompt": system or "", "preset": preset or "", "params": params.to_dict()}


def default_settings(studio: Studio) -> dict[str, Any]:
    current = studio.models.current if "models" in studio.__dict__ else None
    thinking = bool(current and current.thinking != "none")
    preset = "default"
    if current is not None:
        preset = current.thinking_preset if thinking and current.thinking_preset else current.generation_preset
    return {"adapter": "", "thinking": thinking, "system_prompt": "", "preset": preset,
            "params": GenerationParams.from_preset(preset).to_dict()}


def controls_from_settings(studio: Studio, settings: dict[str, Any]) -> list[Any]:
    merged = {**default_settings(studio), **{k: v for k, v in settings.items() if v is not None}}
    params = GenerationParams.from_dict(merged["params"])
    return [adapter_choices(studio, merged["adapter"] or NONE_ADAPTER), thinking_control(studio, merged["thinking"]),
            merged["system_prompt"], merged["preset"], *[getattr(params, n) for n in PARAM_NAMES],
            "\n".join(params.stop)]


def adapter_choices(studio: Studio, value: str | None = None) -> dict[str, Any]:
    """The dropdown re-listed from disk: a freshly trained adapter shows without a restart."""
    names = studio.adapters.names()
    value = value if value in names else NONE_ADAPTER
    return gr.update(choices=[NONE_ADAPTER, *names], value=value)


def thinking_control(studio: Studio, value: bool) -> dict[str, Any]:
    current = studio.models.current
    mode = current.thinking if current is not None else "none"
    info = {"switchable": "Qwen3: reason step by step before answering (shown folded).",
            "always": "This model always reasons first (its template opens <think>).",
            "none": "The loaded model has no thinking mode."}[mode]
    return gr.update(value=bool(value) if mode != "none" else False, interactive=mode == "switchable", info=info)


def model_line(studio: Studio) -> str:
    current = studio.models.current
    if current is None:
        return ("**No model loaded.** Load one in the **Models** tab (the offline demo model works without "
                "internet), then chat here.")
    resident = studio.models.resident_adapters()
    extra = f" · adapters in memory: {', '.join(resident)}" if resident else ""
    return f"**Model:** {html.escape(current.summary())}{extra}"


def chat_choices(studio: Studio, who: str | None = None) -> list[tuple[str, str]]:
    """The chats `who` may open (everyone's when None: no logins)."""
    return [(c.title, c.id) for c in studio.chats.list(owner=who)]


# --- the one path a reply takes --------------------------------------------------------------------------
def stream_reply_view(studio: Studio, chat_id: str, mode: str, request_id: str,
                      prepare: Callable[[list[dict[str, Any]]], tuple[list[dict[str, Any]], dict[str, Any]]]
                      | None = None, who: str | None = None) -> Iterator[tuple[list[dict[str, Any]], str]]:
    """Stream a reply into the chatbot and save it: yields (chatbot messages, stats line).

    `prepare` (engine.chats.stream_reply) is where documents plug in: retrieval adds passages to the messages
    and returns {"sources": [...]}, saved in the reply's meta for a sources panel under the answer.
    """
    chat = studio.chats.get(chat_id, owner=who)
    if mode == REGENERATE:
        cut = max((m.position for m in chat.messages if m.role == "user"), default=-1) + 1
        chat.messages = [m for m in chat.messages if m.position < cut]
    elif mode == CONTINUE and chat.messages:
        last = chat.messages.pop()
    before, _ = chat_display(chat)
    for event in stream_reply(studio.chats, studio.models, chat_id, mode=mode, request_id=request_id,
                              prepare=prepare):
        if event.kind == "done":
            break
        answer, reasoning = event.answer, event.reasoning
        if mode == CONTINUE:
            answer, reasoning = last.content + answer, last.reasoning + reasoning
        yield before + assistant_messages(answer, reasoning, None, streaming=True), "generating…"
    final = studio.chats.get(chat_id)
    shown, _ = chat_display(final)
    last_meta = final.messages[-1].meta if final.messages else {}
    yield shown, stats_line(last_meta)


# --- the tab -------------------------------------------------------------------------------------------
def create_chat_tab(studio: Studio) -> None:
    with gr.Tab("Chat", id="chat", elem_id="tab-chat") as tab:
        chat_id = gr.State(None)
        session = gr.State(lambda: uuid.uuid4().hex)   # this page's id, so Stop stops this page's reply only
        docs = ChatDocuments(studio)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=220):
                new_chat = gr.Button("+ New chat", elem_id="chat-new", size="sm")
                chat_list = gr.Radio(choices=[], label="Chats", elem_id="chat-list", container=True)
                with gr.Accordion("Rename, delete, export, import", open=False):
                    title = gr.Textbox(label="Title", elem_id="chat-title")
                    with gr.Row():
                        rename = gr.Button("Rename", size="sm", elem_id="chat-rename")
                        delete = gr.Button("Delete", size="sm", variant="stop", elem_id="chat-delete")
                    export = gr.Button("Export JSON", size="sm", elem_id="chat-export")
                    export_file = gr.File(label="Exported chat", visible=False, interactive=False)
                    importer = gr.UploadButton("Import JSON", file_types=[".json"], size="sm",
                                               elem_id="chat-import")
            with gr.Column(scale=4):
                model_info = gr.Markdown(elem_id="chat-model")
                chatbot = gr.Chatbot(elem_id="chatbot", height=520, show_label=False, editable="user",
                                     buttons=["copy", "copy_all"], feedback_options=None,
                                     placeholder="Start a conversation: write below and press Enter.")
                with gr.Row():
                    message = gr.Textbox(show_label=False, placeholder="Message (Enter to send, Shift+Enter for a "
                                         "new line)", scale=6, lines=2, elem_id="chat-input")
                    with gr.Column(scale=1, min_width=100):
                        send = gr.Button("Send", variant="primary", elem_id="chat-send")
                        stop = gr.Button("Stop", variant="stop", elem_id="chat-stop")
                with gr.Row():
                    regenerate = gr.Button("Regenerate", size="sm", elem_id="chat-regenerate")
                    cont = gr.Button("Continue", size="sm", elem_id="chat-continue")
                    show_prompt = gr.Button("Show prompt", size="sm", elem_id="chat-show-prompt")
                stats = gr.Markdown(elem_id="chat-stats")
                docs.build_sources()
                with gr.Accordion("Prompt the model received", open=False, visible=False) as prompt_box:
                    prompt_text = gr.Code(label="Exact prompt (chat template applied)", language=None,
                                          elem_id="chat-prompt", interactive=False)
            with gr.Column(scale=2, min_width=260):
                docs.build_controls()
                controls = _settings_panel(studio)
        compare = _compare_panel(studio, controls)

        inputs = controls.all()

        # --- page load, tab selection, chat selection ------------------------------------------------------
        def mine(selected: str | None, who: str | None) -> str:
            """The chat id when this person may use it; else a refusal (another person's id included)."""
            if not studio.chats.exists(selected, who):
                raise LoragError("Open a chat first.")
            return selected

        def open_chat(selected: str | None, who: str | None):
            chat = studio.chats.get(selected, who) if studio.chats.exists(selected, who) else None
            shown, _ = chat_display(chat)
            settings = chat.settings if chat else {}
            last = chat.messages[-1].meta if chat and chat.messages else {}
            return [chat.id if chat else None,
                    gr.update(choices=chat_choices(studio, who), value=chat.id if chat else None),
                    shown, chat.title if chat else "", model_line(studio), stats_line(last),
                    *controls_from_settings(studio, settings), adapter_choices(studio, compare.value_of(settings))]

        outputs_open = [chat_id, chat_list, chatbot, title, model_info, stats, *inputs, compare.adapter]

        def on_page_load(request: gr.Request):
            who = viewer(studio, request)
            chats = studio.chats.list(owner=who)
            return open_chat(chats[0].id if chats else None, who)

        def pick_chat(request: gr.Request, selected: str | None):
            return open_chat(selected, viewer(studio, request))

        gr.on(triggers=None, fn=shows_errors(on_page_load), inputs=[], outputs=outputs_open, queue=False)
        chat_list.input(shows_errors(pick_chat), [chat_list], outputs_open, queue=False)

        def on_tab_select(request: gr.Request, selected: str | None):
            """Back from the Models tab: re-list adapters; an empty chat takes the new model's sampling."""
            who = viewer(studio, request)
            chat = studio.chats.get(selected, who) if studio.chats.exists(selected, who) else None
            settings = chat.settings if chat is not None and chat.messages else {}
            return [model_line(studio), *controls_from_settings(studio, settings),
                    adapter_choices(studio, compare.value_of(settings))]

        tab.select(shows_errors(on_tab_select), [chat_id], [model_info, *inputs, compare.adapter], queue=False)
        controls.adapter.focus(lambda v: adapter_choices(studio, v), [controls.adapter], [controls.adapter],
                               queue=False)

        # --- settings are saved with the chat as they change ---------------------------------------------------
        def save_settings(request: gr.Request, selected: str | None, *values: Any):
            if studio.chats.exists(selected, viewer(studio, request)):
                studio.chats.update_settings(selected, **settings_from_controls(*values))

        for control in inputs:
            control.input(shows_errors(save_settings), [chat_id, *inputs], None, queue=False)

        def apply_preset(name: str):
            params = GenerationParams.from_preset(name)
            return [getattr(params, n) for n in PARAM_NAMES]

        controls.preset.input(shows_errors(apply_preset), [controls.preset], controls.params, queue=False).then(
            shows_errors(save_settings), [chat_id, *inputs], None, queue=False)

        # --- new chat, send, reply -------------------------------------------------------------------------
        def new_chat_fn(request: gr.Request, *values: Any):
            chat = studio.chats.create(settings=settings_from_controls(*values), owner=owner(studio, request))
            return open_chat(chat.id, viewer(studio, request))

        new_chat.click(shows_errors(new_chat_fn), inputs, outputs_open, queue=False)

        def add_user_message(request: gr.Request, selected: str | None, text: str, *values: Any):
            text = (text or "").strip()
            if not text:
                raise LoragError("Write a message first.")
            if studio.models.current is None:
                raise LoragError("No model is loaded.", hint="Load one in the Models tab.")
            if over_limit(studio, request) is not None:   # keep the text in the box; the reply step says why
                return (gr.skip(),) * 5
            who = viewer(studio, request)
            settings = settings_from_controls(*values)
            if not studio.chats.exists(selected, who):
                selected = studio.chats.create(settings=settings, owner=owner(studio, request)).id
            else:
                studio.chats.update_settings(selected, **settings)
            studio.chats.append(selected, "user", text)
            chat = studio.chats.get(selected, who)
            return selected, "", chat_display(chat)[0], gr.update(choices=chat_choices(studio, who),
                                                                  value=selected), chat.title

        def reply(mode: str):
            def run(request: gr.Request, selected: str | None, request_id: str, collection: str | None,
                    documents: list[str] | None):
                who = viewer(studio, request)
                try:
                    count_generation(studio, request)
                except RateLimited as exc:
                    yield gr.skip(), warn_limited(exc)
                    return
                if not studio.chats.exists(selected, who):
                    raise LoragError("Start a chat first.")
                yield from stream_reply_view(studio, selected, mode, request_id, who=who,
                                             prepare=docs.prepare(selected, collection, documents, who))
            return shows_errors(run)

        user_step = dict(fn=shows_errors(add_user_message), inputs=[chat_id, message, *inputs],
                         outputs=[chat_id, message, chatbot, chat_list, title], queue=False)
        reply_step = dict(inputs=[chat_id, session, docs.collection, docs.documents], outputs=[chatbot, stats],
                          **GENERATION_QUEUE)
        for trigger in (send.click, message.submit):
            trigger(**user_step).success(reply(NEW), **reply_step).then(
                lambda: model_line(studio), None, model_info, queue=False).then(**docs.after_reply(chat_id))
        regenerate.click(reply(REGENERATE), **reply_step).then(**docs.after_reply(chat_id))
        cont.click(reply(CONTINUE), **reply_step).then(**docs.after_reply(chat_id))
        stop.click(lambda request_id: studio.models.stop(request_id) and None, [session], None, queue=False)

        def on_edit(request: gr.Request, selected: str | None, data: gr.EditData):
            selected = mine(selected, viewer(studio, request))
            chat = studio.chats.get(selected)
            _, positions = chat_display(chat)
            index = data.index if isinstance(data.index, int) else data.index[0]
            position = positions[index]
            studio.chats.edit(selected, position, str(data.value if not isinstance(data.value, list)
                                                      else data.value[0]))
            studio.chats.truncate(selected, position + 1)
            return chat_display(studio.chats.get(selected))[0]

        chatbot.edit(shows_errors(on_edit), [chat_id], [chatbot], queue=False).success(reply(NEW), **reply_step).then(
            **docs.after_reply(chat_id))

        # --- show prompt ----------------------------------------------------------------------------------
        def prompt_of(request: gr.Request, selected: str | None, *values: Any):
            if not studio.chats.exists(selected, viewer(studio, request)):
                selected = None
            return gr.update(visible=True, open=True), render_last_prompt(studio, selected, settings_from_controls(
                *values))

        show_prompt.click(shows_errors(prompt_of), [chat_id, *inputs], [prompt_box, prompt_text], queue=False)

        # --- rename, delete, export, import -----------------------------------------------------------------
        def rename_fn(request: gr.Request, selected: str | None, new_title: str):
            who = viewer(studio, request)
            studio.chats.rename(mine(selected, who), new_title)
            return gr.update(choices=chat_choices(studio, who), value=selected)

        rename.click(shows_errors(rename_fn), [chat_id, title], [chat_list], queue=False)

        def delete_fn(request: gr.Request, selected: str | None):
            if studio.chats.exists(selected, viewer(studio, request)):
                studio.chats.delete(selected)
            return on_page_load(request)

        delete.click(shows_errors(delete_fn), [chat_id], outputs_open, queue=False)

        def export_fn(request: gr.Request, selected: str | None):
            chat = studio.chats.get(mine(selected, viewer(studio, request)))
            folder = Path(tempfile.mkdtemp(prefix="lorag-export-"))
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in chat.title)[:40].strip("-") or "chat"
            path = folder / f"{safe}.json"
            path.write_text(studio.chats.export_json(selected), encoding="utf-8")
            return gr.update(value=str(path), visible=True)

        export.click(shows_errors(export_fn), [chat_id], [export_file], queue=False)

        def import_fn(request: gr.Request, upload: str):
            data = Path(upload).read_bytes()
            if len(data) > 50 * 1024 * 1024:
                raise LoragError("That chat export is larger than 50 MB.")
            chat = studio.chats.import_chat(data, owner=owner(studio, request))
            return open_chat(chat.id, viewer(studio, request))

        importer.upload(shows_errors(import_fn), [importer], outputs_open, queue=False)
        compare.wire(studio, inputs)
        docs.wire(tab, chat_id, chat_list, chatbot)


def render_last_prompt(studio: Studio, chat_id: str | None, settings: dict[str, Any]) -> str:
    """The prompt the last reply received (stored with it), else the one the next reply would get."""
    if studio.chats.exists(chat_id):
        chat = studio.chats.get(chat_id)
        if chat.messages and chat.messages[-1].role == "assistant" and chat.messages[-1].meta.get("prompt"):
            return chat.messages[-1].meta["prompt"]
        messages = studio.chats.history(chat_id)
    else:
        messages = [{"role": "user", "content": "…"}]
    if settings.get("system_prompt") and not (messages and messages[0]["role"] == "system"):
        messages = [{"role": "system", "content": settings["system_prompt"]}, *messages]
    if messages and messages[-1]["role"] == "assistant":
        messages = messages[:-1]
    if not messages:
        raise LoragError("There is nothing to show yet: write a message first.")
    return studio.models.render_prompt(messages, thinking=settings.get("thinking"))


def _settings_panel(studio: Studio) -> Controls:
    presets = generation_presets()
    defaults = GenerationParams()
    with gr.Group():
        adapter = gr.Dropdown(choices=[NONE_ADAPTER], value=NONE_ADAPTER, label="LoRA adapter",
                              info="Swapped in for the next message, no reload.", elem_id="chat-adapter",
                              allow_custom_value=False)
        thinking = gr.Checkbox(label="Thinking", value=False, elem_id="chat-thinking")
        system = gr.Textbox(label="System prompt", lines=3, elem_id="chat-system",
                            placeholder="Empty: the model's default.")
    with gr.Accordion("Sampling", open=False):
        preset = gr.Dropdown(choices=[(p.get("label", n), n) for n, p in presets.items()], value="default",
                             label="Preset", elem_id="chat-preset")
        params = [
            gr.Slider(0, 2, value=defaults.temperature, step=0.05, label="Temperature (0 = greedy)"),
            gr.Slider(0.05, 1, value=defaults.top_p, step=0.01, label="top_p"),
            gr.Slider(0, 200, value=defaults.top_k, step=1, label="top_k (0 = off)"),
            gr.Slider(0, 0.5, value=defaults.min_p, step=0.01, label="min_p (0 = off)"),
            gr.Slider(0.8, 2, value=defaults.repetition_penalty, step=0.01, label="Repetition penalty"),
            gr.Slider(16, 8192, value=defaults.max_new_tokens, step=16, label="Max new tokens",
                      elem_id="chat-max-tokens"),
            gr.Number(value=-1, precision=0, label="Seed (-1 = random)"),
        ]
        stop = gr.Textbox(label="Stop strings (one per line)", lines=2)
    return Controls(adapter, thinking, system, preset, params, stop)


@dataclass
class ComparePanel:
    adapter: gr.Dropdown
    prompt: gr.Textbox
    run: gr.Button
    base_out: gr.Markdown
    adapter_out: gr.Markdown

    @staticmethod
    def value_of(settings: dict[str, Any]) -> str:
        return settings.get("compare_adapter") or settings.get("adapter") or NONE_ADAPTER

    def wire(self, studio: Studio, inputs: list[gr.components.Component]) -> None:
        def run(request: gr.Request, adapter: str, prompt: str, *values: Any):
            if not adapter or adapter == NONE_ADAPTER:
                raise LoragError("Pick the adapter to compare with the base model.")
            if not (prompt or "").strip():
                raise LoragError("Write the prompt to compare.")
            try:
                count_generation(studio, request)
            except RateLimited as exc:
                yield warn_limited(exc), gr.skip()
                return
            yield from compare_stream(studio, adapter, prompt, settings_from_controls(*values))

        self.run.click(shows_errors(run), [self.adapter, self.prompt, *inputs], [self.base_out, self.adapter_out],
                       **GENERATION_QUEUE)
        self.adapter.focus(lambda v: adapter_choices(studio, v), [self.adapter], [self.adapter], queue=False)


def _compare_panel(studio: Studio, controls: Controls) -> ComparePanel:
    with gr.Accordion("Compare: base vs adapter, side by side", open=False, elem_id="chat-compare"):
        with gr.Row():
            adapter = gr.Dropdown(choices=[NONE_ADAPTER], value=NONE_ADAPTER, label="Adapter", scale=1,
                                  elem_id="compare-adapter")
            prompt = gr.Textbox(label="Prompt (same sampling settings and seed for both)", lines=2, scale=3,
                                elem_id="compare-prompt")
            run = gr.Button("Compare", scale=1, elem_id="compare-run")
        with gr.Row(equal_height=True):
            base_out = gr.Markdown(label="Base", elem_id="compare-base", container=True)
            adapter_out = gr.Markdown(label="Adapter", elem_id="compare-adapter-out", container=True)
    return ComparePanel(adapter, prompt, run, base_out, adapter_out)


def compare_stream(studio: Studio, adapter: str, prompt: str, settings: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The same prompt and the same seed, answered by the base and by the adapter (one after the other)."""
    import random

    params = GenerationParams.from_dict(settings["params"])
    if params.seed < 0:
        params.seed = random.randrange(2**31)
    messages = ([{"role": "system", "content": settings["system_prompt"]}] if settings["system_prompt"] else [])
    messages.append({"role": "user", "content": prompt})
    texts = {"base": "", "adapter": ""}

    def show(which: str, body: str, footer: str = "") -> str:
        label = "Base model" if which == "base" else f"Adapter `{adapter}`"
        return f"**{label}**\n\n{body}" + (f"\n\n<small>{html.escape(footer)}</small>" if footer else "")

    for which, name in (("base", None), ("adapter", adapter)):
        for event in studio.models.stream_chat(messages, params, adapter=name, thinking=settings["thinking"],
                                               request_id=f"compare-{which}"):
            footer = stats_line(event.stats.to_meta()) if event.kind == "done" and event.stats else "…"
            texts[which] = show(which, event.answer or "*(thinking…)*", footer)
            yield texts["base"] or show("base", "…"), texts["adapter"] or show("adapter", "waiting for the base…")

