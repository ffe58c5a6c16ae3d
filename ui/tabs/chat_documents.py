"""The Chat tab's documents part: pick a collection (or some of its documents) for the chat, see the sources
under each answer, and open them (chunk text and rendered page) in the sources viewer.

The choice lives in the chat's settings JSON (`collection`: the collection id, `documents`: document ids,
empty for all), so it survives a reload; the lists are re-read from the engine when a control gets focus
or the tab is selected (a collection made in the Documents tab shows up at once). Retrieval itself is
engine work (engine.rag.chat, reached through `studio.rag`); the sources of an answer are read back from
its saved meta, so they are still there after a reload.

chat.py builds it in two places and wires it once:
    docs = ChatDocuments(studio); docs.build_controls()   (settings column)
    docs.build_sources()                                  (under the chat)
    docs.wire(tab, chat_id, chat_list, chatbot);  prepare = docs.prepare(chat_id, collection, documents)
"""

from __future__ import annotations

from typing import Any, Callable

import gradio as gr

from engine.errors import LoragError
from engine.rag.types import DONE
from engine.studio import Studio
from ui.components.sources import SourcesPanel, answer_sources, panel_label
from ui.errors import shows_errors
from ui.i18n import say, t
from ui.people import viewer
from ui.tabs.chat_view import chat_display

NO_COLLECTION = ""


# --- the controls -----------------------------------------------------------------------------------------
class ChatDocuments:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build_controls(self) -> None:
        with gr.Group(elem_id="chat-docs"):
            self.collection = gr.Dropdown(
                choices=[(t("common.none"),
                          NO_COLLECTION)], value=NO_COLLECTION, label=t("chat_documents.answer_from_documents"),
                elem_id="chat-collection", allow_custom_value=False,
                info=t("chat_documents.a_collection_from"))
            self.documents = gr.Dropdown(
                choices=[], value=[], multiselect=True, label=t("chat_documents.only_these_documents"), visible=False,
                elem_id="chat-documents", info=t("chat_documents.empty_the_whole"))

    def build_sources(self) -> None:
        with gr.Column(visible=False, elem_id="chat-sources-box") as self.box:
            self.panel = SourcesPanel(self.studio, label=t("sources.sources_of_last"), elem_id="chat-sources")

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.box, *self.panel.outputs]

    # --- reading the engine ---------------------------------------------------------------------------
    def collection_choices(self, value: str | None, who: str | None = None) -> tuple[list[tuple[str, str]], str]:
        """The dropdown's choices (what `who` may see) and `value` as a current collection id ('' when none)."""
        collections = self.studio.rag.list_collections(viewer=who)
        choices = [(say("common.none"), NO_COLLECTION)] + [(_label(c, who), c.id) for c in collections]
        try:   # a name (API, imports) or an id; a name the person has twice means their own
            return choices, self.studio.rag.collection(value, viewer=who).id if value else NO_COLLECTION
        except LoragError:
            return choices, NO_COLLECTION

    def document_choices(self, collection: str | None, value: list[str] | None) -> dict[str, Any]:
        if not collection:
            return gr.update(choices=[], value=[], visible=False)
        try:
            docs = [d for d in self.studio.rag.documents(collection) if d.status == DONE]
        except LoragError:
            docs = []
        ids = {d.id for d in docs}
        return gr.update(choices=[(d.filename, d.id) for d in docs], value=[v for v in value or [] if v in ids],
                         visible=True)

    def choose(self, collection: str | None, documents: list[str] | None,
               who: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both controls set to this choice (with fresh lists)."""
        choices, value = self.collection_choices(collection, who)
        return gr.update(choices=choices, value=value), self.document_choices(value, documents)

    def relist(self, request: gr.Request, collection: str | None,
               documents: list[str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Fresh lists; the values change only when what they name is gone (focus and tab selection may race
        with opening a chat, so an unchanged choice is never written back)."""
        choices, value = self.collection_choices(collection, viewer(self.studio, request))
        if value != (collection or NO_COLLECTION):
            return gr.update(choices=choices, value=value), self.document_choices(value, [])
        if not value:
            return gr.update(choices=choices), gr.update()
        return gr.update(choices=choices), self.document_choices(value, documents)

    def show(self, items: list[dict[str, Any]], how: str, which: str | None = None) -> tuple:
        if not items:
            return (gr.update(visible=False), *self.panel.show([]))
        updates = self.panel.show(items)
        label = panel_label(how, which or say("chat.which_last"))
        return (gr.update(visible=True), {**updates[0], "label": label}, *updates[1:])

    def show_last(self, chat_id: str | None) -> tuple:
        chat = self.studio.chats.find(chat_id)
        last = next((m for m in reversed(chat.messages) if m.role == "assistant"), None) if chat else None
        return self.show(*answer_sources(last.meta if last else {}))

    # --- the chat's settings --------------------------------------------------------------------------
    def save(self, chat_id: str | None, collection: str | None, documents: list[str] | None) -> dict[str, Any]:
        """Store the choice in the chat's settings (when there is a chat) and return it."""
        choice = {"collection": collection or NO_COLLECTION, "documents": list(documents or []) if collection else []}
        if self.studio.chats.exists(chat_id):
            self.studio.chats.update_settings(chat_id, **choice)
        return choice

    def prepare(self, chat_id: str, collection: str | None, documents: list[str] | None,
                who: str | None = None) -> Callable | None:
        """The chat's retrieval hook for stream_reply_view (None without a collection). With logins on, a
        collection `who` may not see is refused like one that does not exist."""
        from engine.rag.chat import chat_prepare

        choice = self.save(chat_id, collection, documents)
        if not choice["collection"]:
            return None
        self.studio.rag.collection(choice["collection"], viewer=who)
        return chat_prepare(self.studio.rag, choice)

    def on_chat(self, request: gr.Request, chat_id: str | None, collection: str | None,
                documents: list[str] | None) -> tuple:
        """Another chat is open: show its choice and its last sources. A chat that never chose (a new one)
        takes the current choice, so picking a collection before '+ New chat' or the first message works."""
        chat = self.studio.chats.find(chat_id)
        if chat is not None and "collection" not in chat.settings:
            answered = any(m.role == "assistant" for m in chat.messages)
            collection, documents = (NO_COLLECTION, []) if answered else (collection, documents)
            self.save(chat.id, collection, documents)
        elif chat is not None:
            collection, documents = chat.settings.get("collection"), chat.settings.get("documents")
        return (*self.choose(collection, documents, viewer(self.studio, request)), *self.show_last(chat_id))

    def on_select(self, chat_id: str | None, data: gr.SelectData) -> tuple:
        """A click on a message in the chat shows the sources of that answer."""
        chat = self.studio.chats.find(chat_id)
        if chat is None:
            return self.show([], "")
        _, positions = chat_display(chat)
        index = data.index if isinstance(data.index, int) else data.index[0]
        if not 0 <= index < len(positions):
            return self.show([], "")
        message = next(m for m in chat.messages if m.position == positions[index])
        if message.role != "assistant":
            return self.show_last(chat_id)
        answers = [m for m in chat.messages if m.role == "assistant"]
        which = (say("chat.which_last") if message is answers[-1]
                 else say("chat.which_answer", n=answers.index(message) + 1))
        return self.show(*answer_sources(message.meta), which=which)

    # --- events -----------------------------------------------------------------------------------------
    def wire(self, tab: gr.Tab, chat_id: gr.State, chat_list: gr.Radio, chatbot: gr.Chatbot) -> None:
        """`chat_list`'s value is the open chat's id: its change (unlike a State's, which Gradio reports only
        for queued events) fires whenever another chat opens, also on page load."""
        pair = [self.collection, self.documents]
        relist = shows_errors(self.relist)
        self.collection.focus(relist, pair, pair, queue=False)
        self.documents.focus(relist, pair, pair, queue=False)
        tab.select(relist, pair, pair, queue=False)

        def pick_collection(selected: str | None, collection: str | None):
            self.save(selected, collection, [])
            return self.document_choices(collection, [])

        self.collection.input(shows_errors(pick_collection), [chat_id, self.collection], [self.documents],
                              queue=False)
        self.documents.input(shows_errors(self.save), [chat_id, *pair], None, queue=False)
        chat_list.change(shows_errors(self.on_chat), [chat_list, *pair], [*pair, *self.outputs], queue=False)
        chatbot.select(shows_errors(self.on_select), [chat_id], self.outputs, queue=False)

    def after_reply(self, chat_id: gr.State) -> dict[str, Any]:
        """Keyword arguments for a `.then(...)` after a reply: show the new answer's sources."""
        return dict(fn=shows_errors(self.show_last), inputs=[chat_id], outputs=self.outputs, queue=False)


def _label(collection, who: str | None) -> str:
    by = say("chat.collection_shared_by", owner=collection.owner) if who and collection.owner not in ("", who) else ""
    return say("chat.collection_label", name=collection.name, count=collection.documents, by=by)
