"""Second readings of a PDF, for pages where PDFium finds no text and for damaged files.

- `damage`: what is wrong with the file's structure, in words, from qpdf (pikepdf) opening it: a file cut short
  in transfer has no cross-reference table or trailer, and qpdf says so while it rebuilds them.
- `repaired`: the file as qpdf rebuilt it, for PDFium to read and render when it refuses the original.
- `pypdf_pages`: a second, independent text extractor (pypdf, lenient mode) for pages PDFium read as empty.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from engine.rag.pdftext import clean_page

log = logging.getLogger(__name__)

# qpdf's warnings start with the file's path ("/data/uploads/ab12.pdf (offset 1667): xref not found").
_WHERE = re.compile(r"^.*?(?:\([^)]*\))?: ")
MAX_DETAILS = 2
_NOT_A_DETAIL = ("file is damaged", "Attempting to reconstruct cross-reference table")


def damage(pdf, open_error: str = "") -> str:
    """'' for a sound file; else qpdf's findings, e.g. "can't find startxref; expected endstream".
    `pdf` is the pikepdf.Pdf, or None when qpdf could not open it (`open_error` says why)."""
    if pdf is None:
        return _strip(open_error) or "its structure is broken"
    found = [_strip(w) for w in pdf.get_warnings()]
    details = [w for w in found if w not in _NOT_A_DETAIL]
    return "; ".join(list(dict.fromkeys(details or found))[:MAX_DETAILS])


def _strip(message: str) -> str:
    return _WHERE.sub("", str(message).strip().splitlines()[0] if str(message).strip() else "", count=1)


def repaired(pdf) -> bytes | None:
    """The PDF rewritten by qpdf (cross-reference table rebuilt, decrypted), or None when that fails too."""
    if pdf is None:
        return None
    buffer = io.BytesIO()
    try:
        pdf.save(buffer)
    except Exception as exc:  # noqa: BLE001 - pikepdf raises its own and qpdf's errors
        log.info("qpdf could not rewrite the damaged PDF: %s", exc)
        return None
    return buffer.getvalue()


def pypdf_pages(source: Path | bytes, password: str = "", only: list[int] | None = None) -> dict[int, str] | None:
    """Page number (1-based) -> cleaned text by pypdf, for every page or `only` those; '' for a page it cannot
    read; None when it cannot open the file."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(source if isinstance(source, Path) else io.BytesIO(source), strict=False,
                           password=password or None)
        numbers = only or range(1, len(reader.pages) + 1)
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on broken files
        log.info("pypdf cannot open the PDF: %s", exc)
        return None
    return {number: _page_text(reader, number) for number in numbers}


def _page_text(reader, number: int) -> str:
    try:
        return clean_page(reader.pages[number - 1].extract_text() or "")
    except Exception as exc:  # noqa: BLE001 - one broken page must not cost the others
        log.info("pypdf cannot read a page: %s", exc)
        return ""
