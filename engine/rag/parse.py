"""Files -> unstructured elements, with page numbers, per-file errors a person can act on.

A PDF's text layer is read page by page by PDFium (engine.rag.pdftext: label and figures stay on one line,
10-40x faster than unstructured's pdfminer-based fast strategy). unstructured still partitions everything else
(text, Markdown, HTML, .docx), hi_res PDFs (layout model, when present on disk) and PDFs that PDFium cannot open.

Offline, unstructured's partition_pdf tries to download a spaCy model and, when that fails, silently
returns no elements. `prepare_unstructured()` gives it a blank English spaCy pipeline with a sentencizer
instead, and "no elements from a file that has a text layer" is an error: a PDF with text never ends up
indexed as empty. unstructured's PDF steps are a few pages each (pikepdf), so a job reports "parsing page x of
y" and stops between steps.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.errors import LoragError
from engine.jobs import JobCancelled
from engine.rag.pdftext import MIN_PAGE_CHARS

log = logging.getLogger(__name__)

# Running headers, footers and page numbers repeat on every page and only add noise to chunks.
NOISE_CATEGORIES = {"Header", "Footer", "PageNumber"}
# Below this many characters of text in the whole PDF there is no usable text layer (a scan, images).
MIN_TEXT_LAYER_CHARS = 100
LAYOUT_MODEL = ("unstructuredio/yolo_x_layout", "yolox_l0.05.onnx")
QUIET_ENV = {"DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "true", "UNSTRUCTURED_DISABLE_NOTICE": "1"}

_prepared = threading.Lock()
_ready = False


@dataclass
class Parsed:
    elements: list[Any]
    pages: int
    strategy: str
    warnings: list[str] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)   # pages whose text Tesseract read (scans)


ProgressFn = Callable[[int, int], None]


def prepare_unstructured() -> None:
    """Make unstructured work offline: quiet env, and an NLP pipeline that needs no download."""
    global _ready
    with _prepared:
        if _ready:
            return
        for key, value in QUIET_ENV.items():
            os.environ.setdefault(key, value)
        import spacy
        import unstructured.nlp.tokenize as tokenize

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        tokenize._get_nlp = lambda: nlp  # noqa: SLF001 - the documented failure point (ENVIRONMENT.md)
        _ready = True


def hi_res_available() -> bool:
    """hi_res needs the YOLOX layout model in the local hub cache and poppler's pdftoppm."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    cached = try_to_load_from_cache(*LAYOUT_MODEL)
    return isinstance(cached, str) and shutil.which("pdftoppm") is not None


def resolve_strategy(strategy: str) -> tuple[str, list[str]]:
    """The strategy to use now, with a warning when hi_res was asked for but cannot run."""
    if strategy == "fast":
        return "fast", []
    if hi_res_available():
        return "hi_res", []
    if strategy == "hi_res":
        return "fast", ["hi_res needs the layout model (yolo_x_layout), which is not on this machine: parsed "
                        "with the fast strategy instead."]
    return "fast", []


# --- parsing ---------------------------------------------------------------------------------------------
def _no_progress(done: int, total: int) -> None:
    pass


def _no_cancel() -> None:
    pass


@dataclass
class PdfSteps:
    """How a PDF is cut into steps, how many processes parse them, and whom they tell."""

    pages_per_step: int = 8
    progress: ProgressFn = _no_progress
    check_cancel: Callable[[], None] = _no_cancel
    ocr_progress: ProgressFn | None = None     # OCR of scanned pages (done, total); else `progress`


def parse_file(path: Path, kind: str, filename: str, strategy: str = "fast", password: str = "",
               pages_per_step: int = 8, progress: ProgressFn | None = None,
               check_cancel: Callable[[], None] | None = None, ocr_progress: ProgressFn | None = None) -> Parsed:
    """Partition one stored file into content elements (headers/footers dropped), or raise LoragError.
    A PDF's text layer is read by PDFium (engine.rag.pdftext), pages without one by OCR (engine.rag.pdfpages);
    hi_res goes through unstructured in steps."""
    prepare_unstructured()
    steps = PdfSteps(pages_per_step, progress or _no_progress, check_cancel or _no_cancel, ocr_progress)
    if kind == "pdf":
        return _parse_pdf(Path(path), filename, strategy, password, steps)
    return _parse_other(Path(path), kind, filename)


def _content(elements: list[Any]) -> list[Any]:
    return [e for e in elements if e.category not in NOISE_CATEGORIES and (e.text or "").strip()]


def _parse_other(path: Path, kind: str, filename: str) -> Parsed:
    if kind in ("text", "markdown", "html"):
        _check_decodes(path, filename)
    try:
        elements = _partition_other(path, kind, filename)
    except LoragError:
        raise
    except Exception as exc:  # unstructured raises many types for damaged files
        raise LoragError(f"{filename}: the file is damaged or not a valid {kind} file ({_short(exc)}).",
                         key="documents.damaged",
                         params={"filename": filename, "kind": kind, "error": _short(exc)}) from None
    content = _content(elements)
    if not content:
        raise LoragError(f"{filename}: the file contains no text.",
                         key="documents.no_text", params={"filename": filename})
    pages = max((e.metadata.page_number or 0) for e in content)
    return Parsed(elements=content, pages=pages, strategy="fast")


def _check_decodes(path: Path, filename: str) -> None:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoragError(f"{filename}: the file is not UTF-8 text (bad byte at position {exc.start}).",
                         hint="Save it as UTF-8 and upload it again.",
                         key="documents.not_utf8", hint_key="documents.not_utf8_hint",
                         params={"filename": filename, "position": exc.start}) from None


def _partition_other(path: Path, kind: str, filename: str) -> list[Any]:
    common = {"filename": str(path), "metadata_filename": filename, "languages": ["eng"]}
    if kind == "text":
        from unstructured.partition.text import partition_text

        return partition_text(**common)
    if kind == "markdown":
        from unstructured.partition.md import partition_md

        return partition_md(**common)
    if kind == "html":
        from unstructured.partition.html import partition_html

        return partition_html(**common)
    if kind == "docx":
        from unstructured.partition.docx import partition_docx

        return partition_docx(**common)
    raise LoragError(f"{filename}: unsupported file type.",
                     key="documents.unsupported_type_plain", params={"filename": filename})


def _parse_pdf(path: Path, filename: str, strategy: str, password: str, steps: PdfSteps) -> Parsed:
    from engine.rag import pdfpages, pdfrepair

    used, warnings = resolve_strategy(strategy)
    pdf, open_error = _open_pikepdf(path, filename, password)  # says "password-protected" in words
    damage = pdfrepair.damage(pdf, open_error)
    try:
        if used == "fast":
            pages = pdfpages.read(path, password, pdf, damage, steps.progress, steps.check_cancel,
                                  steps.ocr_progress)
            if pages is not None:
                return _parsed_pages(pages, filename, warnings)
        total = len(pdf.pages) if pdf is not None else len(page_text_census(path, password))
        return _parse_with_unstructured(path, filename, used, password, pdf, total, steps, warnings, damage)
    finally:
        if pdf is not None:
            pdf.close()


def _parsed_pages(pages, filename: str, warnings: list[str]) -> Parsed:
    from engine.rag.pdftext import drop_running_lines, page_elements

    pages.texts = drop_running_lines(pages.texts)
    census = pages.census
    if not any(census):
        raise _no_text_error(filename, 0, pages.damage, pages.ocr_tried)
    elements = page_elements(pages.texts, filename)
    if pages.damage:
        warnings = warnings + [_damaged_warning(pages.damage, sum(1 for n in census if n >= MIN_PAGE_CHARS))]
    return Parsed(elements=elements, pages=len(pages.texts), strategy="fast", ocr_pages=pages.ocr_pages,
                  warnings=warnings + _blank_page_warning(census))


def _parse_with_unstructured(path: Path, filename: str, strategy: str, password: str, pdf, total: int,
                             steps: PdfSteps, warnings: list[str], damage: str = "") -> Parsed:
    census = page_text_census(path, password)
    steps.progress(0, total)
    try:
        if pdf is not None:
            elements = _partition_in_steps(pdf, filename, strategy, total, steps)
        else:
            elements = _partition_pdf(filename, strategy, filename_path=path, password=password)
    except (LoragError, JobCancelled):
        raise
    except Exception as exc:
        raise LoragError(f"{filename}: the PDF is damaged and could not be read ({_short(exc)}).",
                         key="documents.damaged_pdf", params={"filename": filename, "error": _short(exc)}) from None
    content = _content(elements)
    total = total or max((e.metadata.page_number or 0 for e in content), default=0)
    steps.progress(total, total)
    if not content:
        raise _no_text_error(filename, _text_layer_chars(census, path, password), damage)
    if damage:
        warnings = warnings + [_damaged_warning(damage, len({e.metadata.page_number for e in content}))]
    return Parsed(elements=content, pages=total, strategy=strategy, warnings=warnings + _blank_page_warning(census))


def _open_pikepdf(path: Path, filename: str, password: str):
    """(the PDF opened and decrypted by pikepdf, '') or (None, why) when its structure is too damaged."""
    import pikepdf

    try:
        return pikepdf.open(path, password=password or ""), ""
    except pikepdf.PasswordError:
        if password:
            raise LoragError(f"{filename}: the password is wrong.",
                             key="documents.wrong_password", params={"filename": filename}) from None
        raise LoragError(f"{filename}: the PDF is password-protected.",
                         hint="Type its password in the Password field and upload it again.",
                         key="documents.password_protected", hint_key="documents.password_protected_hint",
                         params={"filename": filename}) from None
    except Exception as exc:  # damaged cross-reference tables, broken page trees...
        log.info("%s: pikepdf cannot open it (%s)", filename, exc)
        return None, str(exc)


def _partition_in_steps(pdf, filename: str, strategy: str, total: int, steps: PdfSteps) -> list[Any]:
    size = max(1, steps.pages_per_step)
    elements: list[Any] = []
    for start in range(0, total, size):
        steps.check_cancel()
        elements += partition_pdf_bytes(_step_bytes(pdf, start, size), filename, strategy, start + 1)
        steps.progress(min(start + size, total), total)
    return elements


def _step_bytes(pdf, start: int, size: int) -> bytes:
    import pikepdf

    part = pikepdf.new()
    part.add_pages_from(pdf, slice(start, start + size), forms="strip", outlines="ignore")
    buffer = io.BytesIO()
    part.save(buffer)
    part.close()
    return buffer.getvalue()


def partition_pdf_bytes(data: bytes, filename: str, strategy: str, first_page: int) -> list[Any]:
    """One step: a small PDF whose first page is page `first_page` of the document ."""
    prepare_unstructured()
    return _partition_pdf(filename, strategy, file=io.BytesIO(data), starting_page_number=first_page)


def _partition_pdf(filename: str, strategy: str, filename_path: Path | None = None, **kwargs: Any) -> list[Any]:
    from unstructured.partition.pdf import partition_pdf

    if filename_path is not None:
        kwargs["filename"] = str(filename_path)
    return partition_pdf(strategy=strategy, metadata_filename=filename, languages=["eng"], **kwargs)


def page_text_census(path: Path, password: str = "") -> list[int]:
    """Characters of text on each page by PDFium (independent of unstructured); [] when PDFium cannot read it."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(str(path), password=password or None)
    except pdfium.PdfiumError:
        return []
    try:
        counts = []
        for index in range(len(doc)):
            page = doc[index]
            textpage = page.get_textpage()
            counts.append(len("".join(textpage.get_text_bounded().split())))
            textpage.close()
            page.close()
        return counts
    finally:
        doc.close()


def _text_layer_chars(census: list[int], path: Path, password: str) -> int:
    if census:
        return sum(census)
    try:  # PDFium could not open it: ask pypdf
        from pypdf import PdfReader

        reader = PdfReader(str(path), password=password or None, strict=False)
        return sum(len("".join((page.extract_text() or "").split())) for page in reader.pages)
    except Exception:
        return 0


def _no_text_error(filename: str, chars: int, damage: str = "", ocr_tried: bool = False) -> LoragError:
    if damage:
        return LoragError(f"{filename}: the PDF is damaged ({damage}) and no text could be read from it.",
                          hint="Was it cut short in transfer? Get the complete file and upload it again.",
                          key="documents.damaged_pdf_no_text", hint_key="documents.damaged_pdf_no_text_hint",
                          params={"filename": filename, "damage": damage})
    if ocr_tried:
        return LoragError(f"{filename}: no text layer, and OCR found no text on its pages.",
                          hint="The pages are images without legible words (or too blurred to read).",
                          key="documents.ocr_found_nothing", hint_key="documents.ocr_found_nothing_hint",
                          params={"filename": filename})
    if chars >= MIN_TEXT_LAYER_CHARS:
        # unstructured's silent failure (or a parser bug): never index such a file as empty.
        return LoragError(f"{filename}: the parser returned no text although the PDF has a text layer "
                          f"({chars} characters). Nothing was indexed.",
                          hint="This is a parser failure, not your file's fault; see the job log.",
                          key="documents.parser_lost_text", hint_key="documents.parser_lost_text_hint",
                          params={"filename": filename, "chars": chars})
    return LoragError(f"{filename}: no text layer; OCR not available.",
                      hint="The pages are images (a scan?). Run OCR on it first (e.g. ocrmypdf) and upload "
                           "the result.",
                      key="documents.no_text_layer", hint_key="documents.no_text_layer_hint",
                      params={"filename": filename})


def _blank_page_warning(census: list[int]) -> list[str]:
    blank = [i + 1 for i, chars in enumerate(census) if chars < MIN_PAGE_CHARS]
    if not blank or len(blank) == len(census):
        return []
    shown = ", ".join(str(p) for p in blank[:20]) + (" …" if len(blank) > 20 else "")
    why = "no text (none found by OCR either)" if ocr_available() else "no text layer (OCR not available)"
    return [f"{len(blank)} page(s) have {why}, not indexed: {shown}"]


def ocr_available() -> bool:
    from engine.rag import ocr

    return ocr.available()


def _damaged_warning(damage: str, readable: int) -> str:
    return (f"The PDF is damaged ({damage}); indexed what could be read ({readable} page(s) with text). "
            f"Get the complete file and re-index it if pages are missing.")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
