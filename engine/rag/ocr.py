"""OCR for PDF pages without a text layer: PDFium renders the page, the Tesseract command line reads it.

Pages go one at a time, each rendered to a greyscale image in memory and piped to the `tesseract` command
(in a temporary folder); a cancel stops the page being read within a fraction of a second. Languages: English
and Russian, those of them that are installed (Debian: tesseract-ocr-eng, tesseract-ocr-rus).

`LORAG_TESSERACT` names the tesseract command (a path or a name on PATH); without it, `tesseract`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable

from engine.errors import LoragError

log = logging.getLogger(__name__)

TESSERACT_ENV = "LORAG_TESSERACT"
WANTED_LANGUAGES = ("eng", "rus")
# Render resolution. Measured on made A4 scans (tests/support/pdfs.py, English + Russian, 12 pt): a 150 dpi scan
# rendered at 150 dpi matched 66% of the words, at 300 dpi 97%; a 300 dpi scan 96% at 300; 400 dpi gained
# under 1% for about 35% more time.
DPI = 300
PAGE_TIMEOUT_S = 300.0
POLL_S = 0.2

ProgressFn = Callable[[int, int], None]


def tesseract_command() -> str | None:
    """The tesseract executable to run, or None when it is not installed."""
    return shutil.which(os.environ.get(TESSERACT_ENV) or "tesseract")


@lru_cache(maxsize=4)
def installed_languages(command: str) -> tuple[str, ...]:
    """The language data `command` has (`tesseract --list-langs`), e.g. ('eng', 'osd', 'rus')."""
    try:
        done = subprocess.run([command, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("tesseract --list-langs failed: %s", exc)
        return ()
    lines = (done.stdout or "").splitlines()
    return tuple(line.strip() for line in lines[1:] if line.strip())   # the first line is a heading


def languages(command: str) -> str:
    """Tesseract's -l argument: the wanted languages that are installed, joined by '+' ('' when none)."""
    have = installed_languages(command)
    return "+".join(lang for lang in WANTED_LANGUAGES if lang in have)


def available() -> bool:
    """Tesseract is installed with English or Russian language data."""
    command = tesseract_command()
    return bool(command and languages(command))


def unavailable_reason() -> str:
    command = tesseract_command()
    if command is None:
        return "Tesseract is not installed"
    return f"Tesseract ({command}) has no English or Russian language data"


def _no_cancel() -> None:
    pass


def ocr_pages(pdf: Path | bytes, pages: list[int], password: str = "", progress: ProgressFn | None = None,
              check_cancel: Callable[[], None] = _no_cancel, dpi: int = DPI) -> dict[int, str]:
    """Text of the given (1-based) pages of a PDF, read by Tesseract; progress(done, total) first and after each
    page.
    check_cancel raises engine.jobs.JobCancelled to stop (the running tesseract is killed)."""
    import pypdfium2 as pdfium

    command = tesseract_command()
    langs = languages(command) if command else ""
    if not langs:
        raise LoragError(f"OCR is not available: {unavailable_reason()}.",
                         hint="Install tesseract-ocr with tesseract-ocr-eng / -rus (scripts/setup.sh does).",
                         key="documents.no_ocr", hint_key="documents.no_ocr_hint",
                         params={"reason": unavailable_reason()})
    source = str(pdf) if isinstance(pdf, Path) else pdf
    doc = pdfium.PdfDocument(source, password=password or None)
    texts: dict[int, str] = {}
    if progress:
        progress(0, len(pages))
    try:
        with tempfile.TemporaryDirectory(prefix="lorag-ocr-") as folder:
            for done, number in enumerate(pages, start=1):
                check_cancel()
                image = _render(doc, number - 1, dpi, Path(folder) / f"page-{number}.pgm")
                texts[number] = _read_or_skip(image, command, langs, check_cancel)
                image.unlink()
                if progress:
                    progress(done, len(pages))
    finally:
        doc.close()
    return texts


def image_cover(pdf: Path | bytes, pages: list[int], password: str = "") -> dict[int, float]:
    """For each (1-based) page, the share of its area that its largest image covers (0.0: no image, nothing a
    scan could be; about 1.0: a full-page scan)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    doc = pdfium.PdfDocument(str(pdf) if isinstance(pdf, Path) else pdf, password=password or None)
    try:
        cover = {}
        for number in pages:
            page = doc[number - 1]
            width, height = page.get_size()
            areas = [_area(image.get_bounds()) for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])]
            cover[number] = min(1.0, max(areas, default=0.0) / max(width * height, 1.0))
            page.close()
        return cover
    finally:
        doc.close()


def _area(bounds: tuple[float, float, float, float]) -> float:
    left, bottom, right, top = bounds
    return max(0.0, right - left) * max(0.0, top - bottom)


def _render(doc, index: int, dpi: int, target: Path) -> Path:
    """One page as a greyscale PGM (no compression to spend time on; Tesseract's Leptonica reads it)."""
    page = doc[index]
    try:
        page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L").save(target, format="PPM")
    finally:
        page.close()
    return target


def _read_or_skip(image: Path, command: str, langs: str, check_cancel: Callable[[], None]) -> str:
    try:
        return read_image(image, command, langs, check_cancel)
    except LoragError as exc:   # one unreadable page (a 4-pixel image, a stuck read) costs only that page
        log.warning("%s: %s", image.stem, exc)
        return ""


def read_image(image: Path, command: str, langs: str, check_cancel: Callable[[], None] = _no_cancel) -> str:
    """Tesseract's text for one image file, cancellable while it runs (files, not pipes: Tesseract reading a
    large image from stdin stalled under subprocess.communicate)."""
    base = image.with_suffix("")
    with open(base.with_suffix(".log"), "wb") as errors:
        process = subprocess.Popen([command, str(image), str(base), "-l", langs, "--psm", "3"],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            _wait(process, check_cancel)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode != 0:
        lines = base.with_suffix(".log").read_text("utf-8", "replace").strip().splitlines()
        raise LoragError(f"OCR failed on a page: {(lines[-1] if lines else f'exit {process.returncode}')[:200]}",
                         key="documents.ocr_failed",
                         params={"detail": (lines[-1] if lines else f'exit {process.returncode}')[:200]})
    return base.with_suffix(".txt").read_text("utf-8", "replace").replace("\f", "").strip()


def _wait(process: subprocess.Popen, check_cancel: Callable[[], None]) -> None:
    deadline = time.monotonic() + PAGE_TIMEOUT_S
    while True:
        try:
            process.wait(timeout=POLL_S)
            return
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                raise LoragError(f"OCR of a page took over {PAGE_TIMEOUT_S:.0f} s and was stopped.",
                                 key="documents.ocr_timeout", params={"limit": PAGE_TIMEOUT_S}) from None
            check_cancel()
