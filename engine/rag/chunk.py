"""Elements -> chunks with unstructured's chunk_by_title, keeping every page a chunk spans and its section.

Tables stay whole: `skip_table_chunking` keeps a Table element in one chunk whatever its size (and
`isolate_table` keeps it apart from the text around it). The section of a chunk is the title it starts
with, or else the last title seen before it. In a PDF read page by page, the title a page opens with (the name of
the financial statement printed on it) leads the section of every chunk of that page: "Consolidated Statement of
Cash Flows > Cash Flows from Investing Activities", so the page's lower chunks still say what they are part of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import LoragError
from engine.rag.passage import page_starts_of

SHORT_LINE = 80  # characters: a running line above a page's title, not a paragraph


@dataclass
class Chunk:
    index: int
    text: str
    pages: list[int]
    section: str
    element_types: list[str] = field(default_factory=list)
    html: str = ""
    page_starts: list[int] = field(default_factory=list)  # where each of `pages` begins in `text`


def chunk_elements(elements: list[Any], chunk_size: int, overlap: int, filename: str = "",
                   within_pages: bool = False) -> list[Chunk]:
    """Chunks by title within `chunk_size` characters; raises when content elements give no chunk.
    `within_pages`: a page break ends a chunk (PDFs: a citation is one page, and a page's chunk starts with the
    page's own top, e.g. the name of the financial statement printed on it)."""
    from unstructured.chunking.title import chunk_by_title

    if chunk_size < 100:
        raise LoragError(f"The chunk size {chunk_size} is too small: use at least 100 characters.",
                         key="documents.chunk_too_small", params={"size": chunk_size})
    overlap = max(0, min(overlap, chunk_size // 2))
    options = dict(max_characters=chunk_size, overlap=overlap, include_orig_elements=True, skip_table_chunking=True,
                   isolate_table=True, multipage_sections=True)
    groups = _by_page(elements) if within_pages else [elements]  # unstructured still merges small sections
    pieces = [piece for group in groups for piece in chunk_by_title(group, **options)]  # across page breaks
    chunks: list[Chunk] = []
    headings = {group[0].metadata.page_number: _page_heading(group) for group in groups if group} if within_pages \
        else {}
    section = ""
    for piece in pieces:
        text = (piece.text or "").strip()
        if not text:
            continue
        originals = piece.metadata.orig_elements or [piece]
        opening = next((e for e in originals[:3] if e.category == "Title"), None)  # after a running line or two
        if opening is not None:
            section = opening.text.strip()
        pages = _pages(originals, piece)
        heading = headings.get(pages[0], "") if pages else ""
        starts = page_starts_of(text, [(e.metadata.page_number, e.text or "") for e in originals])
        chunks.append(Chunk(index=len(chunks), text=text, pages=pages, section=breadcrumb(heading, section)[:300],
                            element_types=sorted({e.category for e in originals}),
                            html=getattr(piece.metadata, "text_as_html", None) or "",
                            page_starts=starts if len(starts) == len(pages) else []))
        titles = [e.text.strip() for e in originals if e.category == "Title" and e.text.strip()]
        if titles:
            section = titles[-1]
    if elements and not chunks:
        raise LoragError(f"{filename}: parsing gave text but chunking gave no chunk. Nothing was indexed.",
                         key="documents.no_chunks", params={"filename": filename})
    return chunks


def _page_heading(originals: list[Any]) -> str:
    """The title at the top of a page: among its first three elements, after short lines only (a company name
    over a statement's name), not after the end of a paragraph carried over from the page before. Two titles one
    under the other are one heading: "MGM Resorts International and Subsidiaries / Consolidated Balance Sheets"."""
    for index, element in enumerate(originals[:3]):
        if element.category == "Title":
            titles = [e.text.strip() for e in originals[index:index + 2] if e.category == "Title"]
            return " / ".join(titles if len(titles) == 2 and len(titles[1]) <= SHORT_LINE else titles[:1])
        if len(element.text or "") > SHORT_LINE:
            return ""
    return ""


def breadcrumb(heading: str, section: str) -> str:
    return f"{heading} > {section}" if heading and section and section not in heading.split(" / ") \
        else heading or section


def _by_page(elements: list[Any]) -> list[list[Any]]:
    groups: list[list[Any]] = []
    for element in elements:
        if not groups or element.metadata.page_number != groups[-1][-1].metadata.page_number:
            groups.append([])
        groups[-1].append(element)
    return groups


def _pages(originals: list[Any], piece: Any) -> list[int]:
    pages = {e.metadata.page_number for e in originals if e.metadata.page_number}
    if not pages and piece.metadata.page_number:
        pages = {piece.metadata.page_number}
    return sorted(pages)
