"""Every page's text of a PDF, from whichever reader gets it: PDFium's text layer first, then, for pages where
that is empty, pypdf (a second extractor), then Tesseract OCR for pages that show an image (a scan).

A damaged file (cut short in transfer...) that PDFium refuses is read from qpdf's repair of it; what could be
read is kept and the damage is reported, so a damaged file is never taken for a scan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from engine.rag import ocr, pdfrepair
from engine.rag.pdftext import MIN_PAGE_CHARS, clean_page

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
# A page with less text than this on an image covering SCAN_COVER of it is a scan with a stamp (page number,
# Bates number, "Received 12 May") in its text layer: OCR reads the page, stamp included.
STAMP_CHARS = 40
SCAN_COVER = 0.5


@dataclass
class PdfPages:
    texts: list[str]
    reader: str                      # "pdfium", "pdfium (repaired)" or "pypdf"
    ocr_pages: list[int] = field(default_factory=list)
    ocr_tried: bool = False          # OCR was available and ran on the pages without text that show an image
    damage: str = ""                 # qpdf's findings for a damaged file ('' when sound)

    @property
    def census(self) -> list[int]:
        return [chars(text) for text in self.texts]


def chars(text: str) -> int:
    return len("".join(text.split()))


@dataclass
class Readers:
    """Where the text can come from: the file and, when damaged, qpdf's repaired copy (decrypted)."""

    path: Path
    password: str
    repaired: bytes | None = None

    def sources(self) -> list[tuple[Path | bytes, str]]:
        found: list[tuple[Path | bytes, str]] = [(self.path, self.password)]
        return found + ([(self.repaired, "")] if self.repaired else [])


def read(path: Path, password: str, pdf, damage: str, progress: ProgressFn, check_cancel: Callable[[], None],
         ocr_progress: ProgressFn | None = None) -> PdfPages | None:
    """The pages' texts, or None when no reader can open the file at all. `pdf` is pikepdf's Pdf (or None)."""
    readers = Readers(path, password, pdfrepair.repaired(pdf) if damage else None)
    pages, source = _pdfium(readers, progress, check_cancel)
    if pages is None:      # nothing PDFium can render: no OCR either
        pages = _pypdf(readers)
    else:
        _fill_from_pypdf(pages, source)
        if ocr.available():
            _fill_by_ocr(pages, source, ocr_progress or progress, check_cancel)
    if pages is not None:
        pages.damage = damage
    return pages


def _pdfium(readers: Readers, progress: ProgressFn, check_cancel: Callable[[], None]):
    import pypdfium2 as pdfium

    from engine.rag.pdftext import read_pages

    for number, (source, password) in enumerate(readers.sources()):
        try:
            texts = read_pages(source, password, progress, check_cancel)
        except pdfium.PdfiumError as exc:
            log.info("%s: PDFium cannot read it (%s)", readers.path.name, exc)
            continue
        return PdfPages(texts, "pdfium (repaired)" if number else "pdfium"), (source, password)
    return None, None


def _pypdf(readers: Readers) -> PdfPages | None:
    for source, password in readers.sources():
        texts = pdfrepair.pypdf_pages(source, password)
        if texts is not None:
            return PdfPages(list(texts.values()), "pypdf")
    return None


def _empty(pages: PdfPages) -> list[int]:
    return [number for number, count in enumerate(pages.census, start=1) if count < MIN_PAGE_CHARS]


def _fill_from_pypdf(pages: PdfPages, source: tuple[Path | bytes, str]) -> None:
    """Pages PDFium read as empty, from pypdf when it finds text there (fonts PDFium cannot map...)."""
    empty = _empty(pages)
    if not empty:
        return
    others = pdfrepair.pypdf_pages(*source, only=empty) or {}
    for number, text in others.items():
        if chars(text) >= MIN_PAGE_CHARS:
            pages.texts[number - 1] = text
            log.info("page %d: no text from PDFium, %d characters from pypdf", number, chars(text))


def _fill_by_ocr(pages: PdfPages, source: tuple[Path | bytes, str], progress: ProgressFn,
                 check_cancel: Callable[[], None]) -> None:
    """Scans, read by Tesseract one at a time: pages without text that show an image, and pages whose only text
    is a short stamp (a page number, a reference) on an image that covers most of the page."""
    short = [n for n, count in enumerate(pages.census, start=1) if count < STAMP_CHARS]
    cover = ocr.image_cover(source[0], short, source[1]) if short else {}
    scans = [n for n in short if cover[n] >= SCAN_COVER or (cover[n] > 0 and pages.census[n - 1] < MIN_PAGE_CHARS)]
    if not scans:
        return
    pages.ocr_tried = True
    for number, text in ocr.ocr_pages(source[0], scans, source[1], progress, check_cancel).items():
        text = clean_page(text)
        if chars(text) >= max(MIN_PAGE_CHARS, pages.census[number - 1] + 1):  # more than the stamp alone
            pages.texts[number - 1] = text
            pages.ocr_pages.append(number)
