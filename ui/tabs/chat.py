"""Chat tab: saved chats, streaming replies, a LoRA adapter per chat, Qwen3 thinking, compare base vs adapter.

Everything that matters lives in SQLite (studio.chats): the open chat, its messages and its settings (adapter,
system prompt, sampling, thinking and the template switches) are read back on every page load, so a reload or a
restart loses nothing.
A reply always goes through `stream_reply_view` (the engine's engine.chat_turn.show_reply runs the turn: new,
regenerate, continue); with a documents collection chosen for the chat it gets the `prepare` hook for retrieval,
and the answer's sources show under it (ui.tabs.chat_documents builds that part).

The tab's parts: chat_view (what the chatbot shows, a streaming reply too), chat_settings (the settings column and
the chat's settings JSON), chat_compare (base vs adapter), chat_documents (answers from documents), chat_files
(files dropped on the message box: indexed into the chat's own collection, then the question is answered); _ChatTab
below lays them out and wires the events.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import gradio as gr

from engine.chat_turn import CONTINUE, NEW, REGENERATE, last_prompt
from engine.errors import LoragError
from engine.models.generation import GenerationParams
from engine.rag import chat_files
from engine.ratelimit import RateLimited
from engine.studio import Studio
from ui.errors import person_message, shows_errors, warn_limited
from ui.i18n import say, t
from ui.people import CHAT_QUEUE, count_generation, over_limit, owner, viewer
from ui.tabs.chat_compare import ComparePanel
from ui.tabs.chat_documents import ChatDocuments
from ui.tabs.chat_files import ChatFiles, split
from ui.tabs.chat_settings import (
    NONE_ADAPTER,
    PARAM_NAMES,
    adapter_choices,
    controls_from_settings,
    relist_adapters,
    settings_from_controls,
    settings_panel,
)
from ui.tabs.chat_view import assistant_messages, chat_display, model_line, stats_line, stream_reply_view

# Other modules and tests import these from here.
__all__ = ["NONE_ADAPTER", "adapter_choices", "assistant_messages", "chat_display", "create_chat_tab",
           "stream_reply_view"]


def chat_choices(studio: Studio, who: str | None = None) -> list[tuple[str, str]]:
    """The chats `who` may open (everyone's when None: no logins)."""
    return [(c.title, c.id) for c in studio.chats.list(owner=who)]


# --- the tab -------------------------------------------------------------------------------------------
def create_chat_tab(studio: Studio) -> None:
    _ChatTab(studio).build()


class _ChatTab:
    """The layout methods make the components, the _wire methods connect their events, the handlers answer them.

    The events that scripts and tests call by name carry an explicit api_name, so renaming a handler renames no
    endpoint: /on_page_load and /pick_chat (public: ui.app.PUBLIC_ENDPOINTS), on_tab_select (a browser test
    holds it back to race it with the page load).
    """

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.docs = ChatDocuments(studio)
        self.files = ChatFiles(studio, self.docs)
        self.compare = ComparePanel(studio)

    # --- layout --------------------------------------------------------------------------------------------
    def build(self) -> None:
        with gr.Tab(t("chat.chat"), id="chat", elem_id="tab-chat") as self.tab:
            self.chat_id = gr.State(None)
            self.page_ready = gr.State(False)                   # set once the page-load event has filled the tab
            self.refusal = gr.State("")                         # why the last Send added nothing ('' = it did)
            self.session = gr.State(lambda: uuid.uuid4().hex)   # this page's id, so Stop stops this page's reply only
            with gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=220):
                    self._chats_column()
                with gr.Column(scale=4):
                    self._conversation_column()
                with gr.Column(scale=2, min_width=260):
                    self.docs.build_controls()
                    self.controls = settings_panel()
            self.compare.build()
            self._wire()

    def _chats_column(self) -> None:
        self.new_chat = gr.Button(t("chat.new_chat"), elem_id="chat-new", size="sm")
        self.chat_list = gr.Radio(choices=[], label=t("chat.chats"), elem_id="chat-list", container=True)
        with gr.Accordion(t("chat.rename_delete_export"), open=False):
            self.title = gr.Textbox(label=t("chat.title"), elem_id="chat-title")
            with gr.Row():
                self.rename = gr.Button(t("chat.rename"), size="sm", elem_id="chat-rename")
                self.delete = gr.Button(t("chat.delete"), size="sm", variant="stop", elem_id="chat-delete")
            self.export = gr.Button(t("chat.export_json"), size="sm", elem_id="chat-export")
            self.export_file = gr.File(label=t("chat.exported_chat"), visible=False, interactive=False)
            self.importer = gr.UploadButton(t("chat.import_json"), file_types=[".json"], size="sm",
                                            elem_id="chat-import")

    def _conversation_column(self) -> None:
        self.model_info = gr.Markdown(elem_id="chat-model")
        self.chatbot = gr.Chatbot(elem_id="chatbot", height=520, show_label=False, editable="user",
                                  buttons=["copy", "copy_all"], feedback_options=None,
                                  placeholder=t("chat.start_a_conversation"))
        with gr.Row():
            self.message = self.files.box()
            with gr.Column(scale=1, min_width=100):
                self.send = gr.Button(t("chat.send"), variant="primary", elem_id="chat-send")
                self.stop = gr.Button(t("chat.stop"), variant="stop", elem_id="chat-stop")
        self.files.build_note(self.message)
        with gr.Row():
            self.regenerate = gr.Button(t("chat.regenerate"), size="sm", elem_id="chat-regenerate")
            self.continue_ = gr.Button(t("chat.continue"), size="sm", elem_id="chat-continue")
            self.show_prompt = gr.Button(t("chat.show_prompt"), size="sm", elem_id="chat-show-prompt")
        self.stats = gr.Markdown(elem_id="chat-stats")
        self.docs.build_sources()
        with gr.Accordion(t("chat.prompt_the_model"), open=False, visible=False) as self.prompt_box:
            self.prompt_text = gr.Code(label=t("chat.exact_prompt_chat"), language=None,
                                       elem_id="chat-prompt", interactive=False)

    # --- events (registered in this order: Gradio numbers repeated endpoint names by it) -------------------
    def _wire(self) -> None:
        self.inputs = self.controls.all()
        self.outputs_open = [self.chat_id, self.chat_list, self.chatbot, self.title, self.model_info, self.stats,
                             *self.inputs, self.compare.adapter]
        self._wire_opening()
        self._wire_settings()
        self._wire_replies()
        self._wire_chat_management()
        self.compare.wire(self.inputs)
        self.docs.wire(self.tab, self.chat_id, self.chat_list, self.chatbot)

    def _wire_opening(self) -> None:
        """Page load, picking a chat, coming back to the tab."""
        follow = self.files.follow_step(self.chat_id, self.chatbot)   # files still being indexed: follow them
        gr.on(triggers=None, fn=shows_errors(self.on_page_load), inputs=[], outputs=self.outputs_open, queue=False,
              api_name="on_page_load").then(lambda: True, None, self.page_ready, queue=False).then(**follow)
        self.chat_list.input(shows_errors(self.pick_chat), [self.chat_list], self.outputs_open,
                             queue=False, api_name="pick_chat").then(**follow)
        self.tab.select(shows_errors(self.on_tab_select), [self.chat_id, self.page_ready],
                        [self.model_info, *self.inputs, self.compare.adapter], queue=False, api_name="on_tab_select")
        self.controls.adapter.focus(lambda v: relist_adapters(self.studio, v), [self.controls.adapter],
                                    [self.controls.adapter], queue=False)

    def _wire_settings(self) -> None:
        """Settings are saved with the chat as they change."""
        for control in self.inputs:
            control.input(shows_errors(self.save_settings), [self.chat_id, *self.inputs], None, queue=False)
        self.controls.preset.input(shows_errors(self.apply_preset), [self.controls.preset], self.controls.params,
                                   queue=False).then(
            shows_errors(self.save_settings), [self.chat_id, *self.inputs], None, queue=False)

    def _wire_replies(self) -> None:
        """New chat, send, regenerate, continue, stop, edit a message (and reply to it)."""
        self.new_chat.click(shows_errors(self.new_chat_fn), self.inputs, self.outputs_open, queue=False)
        user_step = dict(fn=shows_errors(self.add_user_message), inputs=[self.chat_id, self.message, *self.inputs],
                         outputs=[self.chat_id, self.message, self.files.note, self.chatbot, self.chat_list,
                                  self.title, self.refusal], queue=False)
        reply_step = dict(inputs=[self.chat_id, self.session, self.docs.collection, self.docs.documents],
                          outputs=[self.chatbot, self.stats], **CHAT_QUEUE)
        after_send = {**reply_step, "inputs": [*reply_step["inputs"], self.refusal]}
        follow = self.files.follow_step(self.chat_id, self.chatbot)
        for trigger in (self.send.click, self.message.submit):
            trigger(**user_step).success(**follow).success(self.reply(NEW), **after_send).then(
                lambda: model_line(self.studio), None, self.model_info, queue=False).then(
                **self.docs.after_reply(self.chat_id))
        self.regenerate.click(self.reply(REGENERATE), **reply_step).then(**self.docs.after_reply(self.chat_id))
        self.continue_.click(self.reply(CONTINUE), **reply_step).then(**self.docs.after_reply(self.chat_id))
        self.stop.click(shows_errors(self.stop_fn), [self.session, self.chat_id], None, queue=False)
        self.chatbot.edit(shows_errors(self.on_edit), [self.chat_id], [self.chatbot, self.chat_list, self.title],
                          queue=False).success(
            self.reply(NEW), **reply_step).then(**self.docs.after_reply(self.chat_id))

    def _wire_chat_management(self) -> None:
        """Show prompt, rename, delete, export, import."""
        self.show_prompt.click(shows_errors(self.prompt_of), [self.chat_id, *self.inputs],
                               [self.prompt_box, self.prompt_text], queue=False)
        self.rename.click(shows_errors(self.rename_fn), [self.chat_id, self.title], [self.chat_list], queue=False)
        self.delete.click(shows_errors(self.delete_fn), [self.chat_id], self.outputs_open, queue=False)
        self.export.click(shows_errors(self.export_fn), [self.chat_id], [self.export_file], queue=False)
        self.importer.upload(shows_errors(self.import_fn), [self.importer], self.outputs_open, queue=False)

    # --- handlers: opening a chat ---------------------------------------------------------------------------
    def mine(self, selected: str | None, who: str | None) -> str:
        """The chat id when this person may use it; else a refusal (another person's id included)."""
        if not self.studio.chats.exists(selected, who):
            raise LoragError("Open a chat first.", key="chat.open_first")
        return selected

    def open_chat(self, selected: str | None, who: str | None) -> list[Any]:
        """Values for `outputs_open`: the chat (when `who` may see it, else none), its list, settings, stats."""
        studio = self.studio
        chat = studio.chats.find(selected, who)
        shown, _ = chat_display(chat, studio.jobs)
        settings = chat.settings if chat else {}
        last = chat.messages[-1].meta if chat and chat.messages else {}
        return [chat.id if chat else None,
                gr.update(choices=chat_choices(studio, who), value=chat.id if chat else None),
                shown, chat.title if chat else "", model_line(studio), stats_line(last),
                *controls_from_settings(studio, settings), adapter_choices(studio, self.compare.value_of(settings))]

    def on_page_load(self, request: gr.Request) -> list[Any]:
        who = viewer(self.studio, request)
        chats = self.studio.chats.list(owner=who)
        return self.open_chat(chats[0].id if chats else None, who)

    def pick_chat(self, request: gr.Request, selected: str | None) -> list[Any]:
        return self.open_chat(selected, viewer(self.studio, request))

    def on_tab_select(self, request: gr.Request, selected: str | None, page_ready: bool) -> list[Any]:
        """Back from the Models tab: re-list adapters; an empty chat takes the new model's sampling.
        Gradio also selects the first tab as the page opens, racing with `on_page_load`: that one changes nothing."""
        studio = self.studio
        if not page_ready:
            return [gr.skip()] * (2 + len(self.inputs))
        who = viewer(studio, request)
        chat = studio.chats.find(selected, who)
        settings = chat.settings if chat is not None and chat.messages else {}
        return [model_line(studio), *controls_from_settings(studio, settings),
                adapter_choices(studio, self.compare.value_of(settings))]

    # --- handlers: settings ---------------------------------------------------------------------------------
    def save_settings(self, request: gr.Request, selected: str | None, *values: Any) -> None:
        if self.studio.chats.exists(selected, viewer(self.studio, request)):
            self.studio.chats.update_settings(selected, **settings_from_controls(*values))

    @staticmethod
    def apply_preset(name: str) -> list[Any]:
        params = GenerationParams.from_preset(name)
        return [getattr(params, n) for n in PARAM_NAMES]

    # --- handlers: new chat, send, reply, edit ------------------------------------------------------------
    def new_chat_fn(self, request: gr.Request, *values: Any) -> list[Any]:
        chat = self.studio.chats.create(settings=settings_from_controls(*values), owner=owner(self.studio, request))
        return self.open_chat(chat.id, viewer(self.studio, request))

    def add_user_message(self, request: gr.Request, selected: str | None, value: dict[str, Any] | str | None,
                         *values: Any) -> tuple:
        """Store the question (and index the files dropped with it); or keep the page as it is and leave the
        refusal for the reply step to show (a warning needs the queue, and a gr.Error here would stamp Error over
        the chat and the text box). Files alone need no model: they are indexed, and nothing is answered."""
        studio = self.studio
        text, files = split(value)
        refusal = (say("chat.refusal_empty") if not text and not files else
                   say("chat.refusal_no_model") if text and studio.models.current is None else "")
        if refusal or (text and over_limit(studio, request) is not None):   # over the limit: the reply step says why
            return (*(gr.skip(),) * 6, refusal)
        who = viewer(studio, request)
        settings = settings_from_controls(*values)
        created = not studio.chats.exists(selected, who)
        if created:
            selected = studio.chats.create(settings=settings, owner=owner(studio, request)).id
        else:
            studio.chats.update_settings(selected, **settings)
        try:
            if files:
                chat_files.attach(studio, selected, text, files, owner=owner(studio, request))
            else:
                studio.chats.append(selected, "user", text)
        except LoragError as exc:   # e.g. Weaviate is down: the files and the question stay in the box
            if created:
                studio.chats.delete(selected)
            return (*(gr.skip(),) * 6, person_message(exc))
        chat = studio.chats.get(selected, who)
        listed = gr.update(choices=chat_choices(studio, who), value=selected)
        return selected, None, "", chat_display(chat, studio.jobs)[0], listed, chat.title, ""

    def reply(self, mode: str) -> Callable[..., Iterator[tuple[Any, str]]]:
        """The handler streaming a reply of `mode` (NEW, REGENERATE, CONTINUE); its endpoint is named `run`."""
        def run(request: gr.Request, selected: str | None, request_id: str, collection: str | None,
                documents: list[str] | None, refusal: str = ""):
            if refusal:                 # Send added nothing: say why, answer nothing
                gr.Warning(refusal)
                yield gr.skip(), gr.skip()
                return
            chat = self.studio.chats.find(selected) if mode == NEW else None
            if chat is not None and not chat_files.to_answer(self.studio, chat):
                yield gr.skip(), gr.skip()   # files without a question, or their indexing stopped: no answer
                return
            yield from self.stream_answer(request, selected, mode, request_id, collection, documents)
        return shows_errors(run)

    def stream_answer(self, request: gr.Request, selected: str | None, mode: str, request_id: str,
                      collection: str | None, documents: list[str] | None) -> Iterator[tuple[Any, str]]:
        """Count the generation against this person's limit (a warning when over), then stream the reply."""
        who = viewer(self.studio, request)
        try:
            count_generation(self.studio, request)
        except RateLimited as exc:
            yield gr.skip(), warn_limited(exc)
            return
        if not self.studio.chats.exists(selected, who):
            raise LoragError("Start a chat first.", key="chat.start_first")
        yield from stream_reply_view(self.studio, selected, mode, request_id, who=who,
                                     prepare=self.docs.prepare(selected, collection, documents, who))

    def stop_fn(self, request: gr.Request, request_id: str, selected: str | None) -> None:
        """Stop this page's reply, and the indexing of files dropped into this chat."""
        self.studio.models.stop(request_id)
        if self.studio.chats.exists(selected, viewer(self.studio, request)):
            chat_files.cancel(self.studio, selected)

    def on_edit(self, request: gr.Request, selected: str | None, data: gr.EditData) -> tuple:
        """An edited user message replaces the stored one and drops what came after it (the reply follows);
        the list shows the title an edited first question gives."""
        chats = self.studio.chats
        who = viewer(self.studio, request)
        selected = self.mine(selected, who)
        _, positions = chat_display(chats.get(selected))
        index = data.index if isinstance(data.index, int) else data.index[0]
        position = positions[index]
        chats.edit(selected, position, str(data.value if not isinstance(data.value, list) else data.value[0]))
        chats.truncate(selected, position + 1)
        chat = chats.get(selected)
        return (chat_display(chat, self.studio.jobs)[0], gr.update(choices=chat_choices(self.studio, who),
                                                                   value=selected), chat.title)

    # --- handlers: show prompt, rename, delete, export, import --------------------------------------------
    def prompt_of(self, request: gr.Request, selected: str | None, *values: Any) -> tuple[dict[str, Any], str]:
        studio = self.studio
        return gr.update(visible=True, open=True), last_prompt(studio.chats, studio.models, selected,
                                                               settings_from_controls(*values),
                                                               owner=viewer(studio, request))

    def rename_fn(self, request: gr.Request, selected: str | None, new_title: str) -> dict[str, Any]:
        who = viewer(self.studio, request)
        self.studio.chats.rename(self.mine(selected, who), new_title)
        return gr.update(choices=chat_choices(self.studio, who), value=selected)

    def delete_fn(self, request: gr.Request, selected: str | None) -> list[Any]:
        if self.studio.chats.exists(selected, viewer(self.studio, request)):
            self.studio.chats.delete(selected)
        return self.on_page_load(request)

    def export_fn(self, request: gr.Request, selected: str | None) -> dict[str, Any]:
        chat = self.studio.chats.get(self.mine(selected, viewer(self.studio, request)))
        folder = Path(tempfile.mkdtemp(prefix="lorag-export-"))
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in chat.title)[:40].strip("-") or "chat"
        path = folder / f"{safe}.json"
        path.write_text(self.studio.chats.export_json(selected), encoding="utf-8")
        return gr.update(value=str(path), visible=True)

    def import_fn(self, request: gr.Request, upload: str) -> list[Any]:
        data = Path(upload).read_bytes()
        if len(data) > 50 * 1024 * 1024:
            raise LoragError("That chat export is larger than 50 MB.", key="chat.import_too_large")
        chat = self.studio.chats.import_chat(data, owner=owner(self.studio, request))
        return self.open_chat(chat.id, viewer(self.studio, request))
