"""A PDF's text layer, page by page, through PDFium (pypdfium2), as unstructured elements.

Why not unstructured's fast strategy (pdfminer layout analysis): on financial statements it separates the
numbers from their labels and keeps the leader dots, so `Cash and cash equivalents.......... $` lands in one
chunk and `876,560` in another; PDFium keeps each printed line whole (label and numbers together) and reads
10-40 times faster. Heading lines become unstructured `Title` elements and the other lines `Text` elements, with their
page number, so chunking (chunk_by_title), sections and everything after it stay as they were.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

# Runs of leader dots/underscores ("Total assets ........ 1,234") only fill the embedder's window.
LEADERS = re.compile(r"(?:[ \t]*[.·…_]){4,}[ \t]*")
# PDFium ends a line with CR LF; a lone LF stands between words it found apart on one line (MGM's 2018 statements
# come one word a line without this, "CONSOLIDATED / BALANCE / SHEETS", their figures away from their labels).
WORD_BREAK = re.compile(r"(?<!\r)\n")
SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b]+")
# A capitalised word's last letter set apart by the PDF's kerning ("Consolidated Balance Shee t", "Statement of
# Incom e"): a lone Latin lower-case letter ending the line joins the word before it. Not a, i (words), o, x (check
# boxes drawn as letters: "Yes x No o") or v ("Ltd v").
KERNING_SPLIT = re.compile(r"\b([A-Z][A-Za-z]+) ([b-hj-npr-uwyz])$")
# A heading: short, starts with a capital or an item number, no sentence end, not a row of figures.
HEADING_MAX_CHARS = 90
ITEM = re.compile(r"^(item|part|note|section|chapter|schedule)\s+[\dIVXA-Z]+[.:]?\s", re.I)
NUMBERED = re.compile(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+(?=\w)")
# a statement's second page
CONTINUED = re.compile(r"\s*(?:[-—–,]\s*)?[(\[]?\b(continued|concluded|cont'd)[)\]]?$", re.I)
FIGURES = re.compile(r"[\d$%(),.\-—–]+")

ProgressFn = Callable[[int, int], None]
# A page with fewer characters than this has no text layer (reported as a warning when others have one).
MIN_PAGE_CHARS = 3


def clean_line(line: str) -> str:
    line = SPACES.sub(" ", LEADERS.sub(" ", line)).strip()
    return KERNING_SPLIT.sub(r"\1\2", line)


def clean_page(text: str) -> str:
    """One page's text: lines kept, leader dots and repeated spaces folded, empty lines dropped."""
    lines = (clean_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def read_pages(path: Path | bytes, password: str = "", progress: ProgressFn | None = None,
               check_cancel: Callable[[], None] | None = None) -> list[str]:
    """Cleaned text of every page (an empty string for a page without a text layer); `path` may be the bytes
    of a PDF (a damaged file as qpdf repaired it)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path if isinstance(path, bytes) else str(path), password=password or None)
    try:
        total = len(doc)
        pages = []
        if progress:
            progress(0, total)
        for index in range(total):
            if check_cancel:
                check_cancel()
            pages.append(clean_page(_page_text(doc, index)))
            if progress:
                progress(index + 1, total)
        return pages
    finally:
        doc.close()


def _page_text(doc, index: int) -> str:
    page = doc[index]
    textpage = page.get_textpage()
    try:
        return WORD_BREAK.sub(" ", textpage.get_text_bounded())
    finally:
        textpage.close()
        page.close()


def is_heading(line: str) -> bool:
    """A line that opens a section: 'Item 7. Management's Discussion', 'Consolidated Balance Sheets'."""
    line = CONTINUED.sub("", line)
    original = line
    if len(line) > HEADING_MAX_CHARS or len(line) < 4 or line[-1] in ".,;:!?":
        return False
    if ITEM.match(line):
        return True
    line = NUMBERED.sub("", line)
    numbered = line != original     # "2.1 Training data": sentence case is enough for a numbered heading
    words = line.split()
    if not words or not line[0].isupper() or (len(words) < 2 and not numbered):
        return False
    figures = sum(len(m) for m in FIGURES.findall(line))
    if figures > len(line) * 0.2:
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or w.lower() in _SMALL_WORDS)
    return numbered or capitalised == len(words)


_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with",
                "und", "der", "die", "das", "des", "von", "zu", "и", "в", "на", "по", "с", "для", "о"}


def page_elements(pages: list[str], filename: str, first_page: int = 1) -> list[Any]:
    """unstructured elements with page numbers: a Title per heading line, a Text per logical line (printed lines
    that continue one sentence are joined), so chunking packs whole sentences and whole table rows."""
    from unstructured.documents.elements import ElementMetadata, Text, Title

    elements = []
    for offset, text in enumerate(pages):
        meta = ElementMetadata(filename=filename, page_number=first_page + offset)
        for line in logical_lines(text.split("\n")):
            elements.append((Title if is_heading(line) else Text)(text=line, metadata=meta))
    return elements


def logical_lines(lines: list[str]) -> list[str]:
    """A printed line that goes on in lower case continues the one before (joined by a space, or by nothing after
    a hyphen); any other line (a heading, a table row, a list item, a new sentence) starts a new one."""
    out: list[str] = []
    for line in lines:
        if out and line[0].islower() and not is_heading(out[-1]):
            last = out[-1]
            out[-1] = last[:-1] + line if last.endswith("-") and last[-2:-1].isalpha() else f"{last} {line}"
        else:
            out.append(line)
    return out


def drop_running_lines(pages: list[str], edge: int = 3, share: float = 0.25, at_least: int = 4) -> list[str]:
    """Running headers, footers and page numbers out: a line at the top or bottom `edge` lines of a page whose
    text (digits ignored) stands there on at least `share` of the pages (and `at_least` pages)."""
    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.lower())

    counts: dict[str, int] = {}
    for text in pages:
        for k in {key(line) for line in _edges(text.split("\n"), edge)}:
            counts[k] = counts.get(k, 0) + 1
    floor = max(at_least, share * len(pages))
    running = {k for k, n in counts.items() if n >= floor}
    if not running:
        return pages
    return [_without(text.split("\n"), running, key, edge) for text in pages]


def _edges(lines: list[str], edge: int) -> list[str]:
    return lines[:edge] + lines[max(edge, len(lines) - edge):]


def _without(lines: list[str], running: set[str], key: Callable[[str], str], edge: int) -> str:
    last = len(lines) - edge
    kept = [line for i, line in enumerate(lines) if not ((i < edge or i >= last) and key(line) in running)]
    return "\n".join(kept)
