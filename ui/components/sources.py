"""Numbered sources (search hits or an answer's citations) that open into their text and page image.

Reused by the Documents tab (search results) and the Chat tab (citations under an answer):

    panel = SourcesPanel(studio, label="Sources", elem_id="chat-sources")   # inside a Blocks context
    ...
    return panel.show(citations)      # from a handler whose outputs include panel.outputs

`show(items)` returns updates for `panel.outputs` (the list, then the closed viewer). Items are
engine.rag.types.Hit or Citation objects, or Citation dicts as saved with a chat message.

The pure functions below it format sources as text: a source's label, the Markdown lines under a chat answer
(`sources_message`, the folded block the chat view shows), the panel's label for an answer.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import gradio as gr

from engine.rag.types import Citation, Hit
from engine.studio import Studio
from ui.errors import shows_errors
from ui.i18n import pages_text, say, t
from ui.people import viewer

SEPARATOR = "::"
SNIPPET = 160
ANSWER_SNIPPET = 100   # the shorter snippets of the block under a chat answer
TITLE_ENTRIES = 3


def _field(item: Any, name: str, default: Any = "") -> Any:
    return item.get(name, default) if isinstance(item, dict) else getattr(item, name, default)


def source_label(item: Hit | Citation | dict, n: int | None = None) -> str:
    """'[2] report.pdf · pp. 4-5 · score 0.81 — snippet…'"""
    number = _field(item, "n", None) or n
    parts = [_field(item, "filename"), pages_text(list(_field(item, "pages", []) or []))]
    score = _field(item, "score", None)
    if score is not None and not _field(item, "snippet"):  # search hits show their score, citations do not
        parts.append(say("sources.score", score=f"{float(score):.3f}"))
    snippet = _shorten(_field(item, "snippet") or _field(item, "text"), SNIPPET)
    head = " · ".join(p for p in parts if p)
    return f"[{number}] {head} — {snippet}" if number else f"{head} — {snippet}"


def source_value(item: Hit | Citation | dict) -> str:
    """chunk id :: collection :: the page to open first (the one holding the passage)"""
    page = _field(item, "page", None) or ""
    return SEPARATOR.join((str(_field(item, "chunk_id")), str(_field(item, "collection") or ""), str(page)))


def _shorten(text: Any, limit: int) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


def citations_markdown(items: Sequence[Hit | Citation | dict], limit: int = SNIPPET) -> str:
    """Compact Markdown lines for under a chat answer: **[n]** file, pages — snippet (cut at `limit`)."""
    lines = []
    for n, item in enumerate(items, start=1):
        number = _field(item, "n", None) or n
        where = ", ".join(p for p in (_field(item, "filename"), pages_text(list(_field(item, "pages", []) or [])))
                          if p)
        snippet = html.escape(_shorten(_field(item, "snippet") or _field(item, "text"), limit))
        lines.append(f"**[{number}]** {html.escape(where)} — {snippet}")
    return "\n\n".join(lines)


def ocr_note(ocr_pages: Sequence[int]) -> str:
    """'Read by OCR (scanned page): p. 3' under a source's title; '' when no cited page was a scan."""
    if not ocr_pages:
        return ""
    return "\n\n" + say("sources.ocr_one" if len(ocr_pages) == 1 else "sources.ocr_many",
                        pages=pages_text(list(ocr_pages)))


# --- under a chat answer: the sources saved with it -----------------------------------------------------
def answer_sources(meta: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The sources saved with an answer and how they relate to it: cited, matched, given ('' for none)."""
    sources = list(meta.get("sources") or [])
    if not sources:
        return [], ""
    kinds = {s.get("how", "cited") for s in sources}
    return sources, kinds.pop() if len(kinds) == 1 else "cited"


def _short(item: dict[str, Any]) -> str:
    where = " ".join(p for p in (item.get("filename", ""), pages_text(list(item.get("pages") or []))) if p)
    return f"[{item.get('n')}] {where}"


def sources_title(items: list[dict[str, Any]], how: str) -> str:
    shown = " · ".join(_short(item) for item in items[:TITLE_ENTRIES])
    more = f" · {say('sources.more', count=len(items) - TITLE_ENTRIES)}" if len(items) > TITLE_ENTRIES else ""
    return f"{say(f'sources.heads.{how}')}: {shown}{more}"


def sources_message(meta: dict[str, Any]) -> dict[str, Any] | None:
    """A folded chatbot block under the answer listing its sources (open when they are cited or matched)."""
    items, how = answer_sources(meta or {})
    if not items:
        return None
    metadata: dict[str, Any] = {"title": sources_title(items, how)}
    if how == "given":
        metadata["status"] = "done"   # folded: these are what the model read, not what it used
    body = citations_markdown(items, limit=ANSWER_SNIPPET) + f"\n\n*{say('sources.open_hint')}*"
    return {"role": "assistant", "content": body, "metadata": metadata}


def panel_label(how: str, which: str) -> str:
    return say(f"sources.panel.{how if how in ('cited', 'matched', 'given') else 'cited'}", which=which)


class SourcesPanel:
    def __init__(self, studio: Studio, label: str = "Sources", elem_id: str = "lorag-sources") -> None:
        self.studio = studio
        with gr.Column(elem_id=elem_id, elem_classes="lorag-sources"):
            self.list = gr.Radio(choices=[], value=None, label=label, elem_id=f"{elem_id}-list",
                                 info=t("sources.click_a_source"))
            with gr.Row(visible=False) as self.viewer:
                with gr.Column(scale=3):
                    self.title = gr.Markdown(elem_id=f"{elem_id}-title")
                    self.text = gr.Textbox(label=t("sources.source_text"), lines=14, max_lines=30, interactive=False,
                                           elem_id=f"{elem_id}-text")
                with gr.Column(scale=2):
                    self.pages = gr.Gallery(label=t("sources.page"), columns=1, height=560, object_fit="contain",
                                            elem_id=f"{elem_id}-pages", show_label=True)
        self.list.input(shows_errors(self.open), inputs=self.list,
                        outputs=[self.viewer, self.title, self.text, self.pages])

    @property
    def outputs(self) -> list[gr.components.Component]:
        return [self.list, self.viewer, self.title, self.text, self.pages]

    def show(self, items: Sequence[Hit | Citation | dict]) -> tuple:
        choices = [(source_label(item, n), source_value(item)) for n, item in enumerate(items, start=1)]
        return (gr.update(choices=choices, value=None), gr.update(visible=False), "", "", [])

    def open(self, value: str | None, request: gr.Request | None = None) -> tuple:
        if not value:
            return gr.update(visible=False), "", "", []
        chunk_id, collection, page = (value.split(SEPARATOR) + ["", ""])[:3]
        source = self.studio.rag.source(chunk_id, collection or None, viewer=viewer(self.studio, request),
                                        page=int(page) if page.isdigit() else None)
        where = " · ".join(p for p in (source.filename, source.pages_label) if p)
        if source.page and len(source.pages) > 1:
            where += f" · {say('sources.passage_on', page=source.page)}"
        section = f"\n\n{say('sources.section', section=html.escape(source.section))}" if source.section else ""
        title = f"#### {html.escape(where)}{section}{ocr_note(source.ocr_pages)}"
        shown = sorted(source.pages, key=lambda p: p != source.page)
        images = [(str(path), say("sources.page_image", page=p))
                  for path, p in zip(source.page_images, shown, strict=False)]
        return gr.update(visible=True), title, source.text, images
