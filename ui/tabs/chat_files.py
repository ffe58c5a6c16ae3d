"""The Chat tab's dropped files: the message box takes files (dropped on it or picked with its clip button);
Send indexes them into the chat's own collection (engine.rag.chat_files does the work), and this part follows
the job in the chat ("Indexing report.pdf: parsing page 3 of 12") until it ends, then sets the documents
controls to the chat's collection, so the question typed with the files is answered from them.

chat.py uses it as:
    files = ChatFiles(studio, docs);  files.box()                    (the message box)
    send -> add_user_message (split, engine.rag.chat_files.attach) -> files.follow_step(chat_id, chatbot) -> reply
"""

from __future__ import annotations

from typing import Any, Iterator

import gradio as gr

from engine.rag.chat_files import follow, last_drop
from engine.rag.filecheck import KINDS
from engine.studio import Studio
from ui.errors import shows_errors
from ui.i18n import t
from ui.people import viewer
from ui.tabs.chat_documents import ChatDocuments
from ui.tabs.chat_view import chat_display

POLL_SECONDS = 0.5
# Longer pastes would become .txt files (Gradio's default is 1000 characters): a pasted question stays text.
PASTE_AS_TEXT = 100_000
NAME_FILES = """(value) => {
  const names = (value?.files || []).map(f => f.orig_name || f.path?.split('/').pop());
  const them = names.length > 1 ? 'them' : 'it';
  return names.length ? `Attached: ${names.join(', ')}. Send indexes ${them} into this chat's own collection, ` +
    'then the question is answered from it.' : '';
}"""


def split(value: dict[str, Any] | str | None) -> tuple[str, list[str]]:
    """The message box's value as (text, file paths)."""
    if isinstance(value, dict):
        return (value.get("text") or "").strip(), [str(f) for f in value.get("files") or []]
    return (value or "").strip(), []


class ChatFiles:
    def __init__(self, studio: Studio, docs: ChatDocuments) -> None:
        self.studio = studio
        self.docs = docs

    def box(self) -> gr.MultimodalTextbox:
        return gr.MultimodalTextbox(
            show_label=False, scale=6, lines=2, elem_id="chat-input", sources=["upload"],
            file_types=sorted(KINDS), file_count="multiple", submit_btn=False, max_plain_text_length=PASTE_AS_TEXT,
            placeholder=t("chat_files.message_enter_to"))

    def build_note(self, box: gr.MultimodalTextbox) -> None:
        """A line under the box naming the files in it (Gradio shows only an icon), updated in the browser."""
        self.note = gr.Markdown(elem_id="chat-attached")
        box.change(None, [box], [self.note], js=NAME_FILES, queue=False)

    def follow_step(self, chat_id: gr.State, chatbot: gr.Chatbot) -> dict[str, Any]:
        """Keyword arguments for the step after Send (and after opening a chat): follow the files' indexing."""
        return dict(fn=shows_errors(self.follow_files), inputs=[chat_id],
                    outputs=[chatbot, self.docs.collection, self.docs.documents], concurrency_limit=None,
                    show_progress="hidden")

    def follow_files(self, request: gr.Request, selected: str | None) -> Iterator[tuple]:
        """While the chat's files are indexed: the chat with their progress. Then the documents controls
        choose the chat's collection (or its earlier one when nothing could be indexed)."""
        studio = self.studio
        who = viewer(studio, request)
        if not studio.chats.exists(selected, who):
            yield gr.skip(), gr.skip(), gr.skip()
            return
        moved = False
        for _ in follow(studio, selected, every=POLL_SECONDS):
            moved = True
            yield chat_display(studio.chats.get(selected), studio.jobs)[0], gr.skip(), gr.skip()
        chat = studio.chats.get(selected)
        if not moved and last_drop(chat) is None:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        settings = chat.settings
        yield (chat_display(chat, studio.jobs)[0],
               *self.docs.choose(settings.get("collection"), settings.get("documents"), who))
