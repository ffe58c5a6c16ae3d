"""OCR of scanned PDF pages with the real Tesseract (Debian's tesseract-ocr, installed by scripts/setup.sh):
scans the test makes itself are read back, page by page with progress, and a cancel stops a page mid-read."""

from __future__ import annotations

import os
import threading
import time

import pytest

from engine.errors import LoragError
from engine.jobs import JobCancelled
from engine.rag import ocr
from engine.rag.parse import parse_file
from tests.support.pdfs import add_picture, mixed_pdf, scanned_pdf, stamp, text_pages_pdf

ENGLISH = "The lighthouse keeper counted 217 ships in March."
RUSSIAN = "Смотритель маяка записывает каждый корабль в тетрадь."


@pytest.fixture(scope="module")
def two_scans(tmp_path_factory):
    path = tmp_path_factory.mktemp("scans") / "two-scans.pdf"
    return scanned_pdf(path, [[ENGLISH, RUSSIAN], ["Second page: the harbour froze in January."]])


def words(text: str) -> set[str]:
    return {w.strip(".,:;").lower() for w in text.split()}


def test_tesseract_is_installed_with_english_and_russian():
    assert ocr.available(), ocr.unavailable_reason()
    assert ocr.languages(ocr.tesseract_command()) == "eng+rus"


def test_a_made_scan_is_read_page_by_page_with_progress(two_scans):
    seen = []
    texts = ocr.ocr_pages(two_scans, [1, 2], progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 2), (1, 2), (2, 2)]
    assert words(ENGLISH) <= words(texts[1]), texts[1]
    assert len(words(RUSSIAN) & words(texts[1])) >= 6, texts[1]   # Cyrillic read as Cyrillic
    assert "harbour" in texts[2] and "January" in texts[2]


def test_only_the_pages_asked_for_are_read(two_scans):
    assert list(ocr.ocr_pages(two_scans, [2])) == [2]


def test_cancel_between_pages_stops_before_the_next(two_scans):
    seen = []

    def check_cancel():
        if seen:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        ocr.ocr_pages(two_scans, [1, 2], progress=lambda done, total: done and seen.append(done),
                      check_cancel=check_cancel)
    assert seen == [1]


def test_cancel_while_tesseract_reads_a_page_kills_it_quickly(two_scans):
    asked = threading.Event()
    threading.Timer(0.5, asked.set).start()
    started = time.monotonic()

    def check_cancel():
        if asked.is_set():
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        ocr.ocr_pages(two_scans, [1], check_cancel=check_cancel, dpi=600)   # a 600 dpi page takes seconds
    assert time.monotonic() - started < 3.0
    assert not _tesseract_children(), "a tesseract process outlived the cancel"


def _tesseract_children() -> list[str]:
    me = str(os.getpid())
    found = []
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
                name = open(f"/proc/{stat}/comm").read().strip()
            except OSError:
                continue
            if fields[1] == me and name == "tesseract":
                found.append(stat)
    return found


def test_missing_tesseract_is_reported(two_scans, monkeypatch, tmp_path):
    monkeypatch.setenv(ocr.TESSERACT_ENV, str(tmp_path / "no-such-tesseract"))
    assert not ocr.available()
    assert ocr.unavailable_reason() == "Tesseract is not installed"
    with pytest.raises(LoragError, match="OCR is not available: Tesseract is not installed"):
        ocr.ocr_pages(two_scans, [1])


# --- scanned pages inside parse_file ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("mixed") / "mixed.pdf"
    return mixed_pdf(path, [("text", ["The river flows north past the old mill."] * 12), ("scan", [ENGLISH]),
                            ("text", ["The mountain pass closes in November."] * 12)])


def test_only_the_scanned_page_of_a_mixed_pdf_gets_ocr(mixed):
    seen = []
    parsed = parse_file(mixed, "pdf", mixed.name, ocr_progress=lambda done, total: seen.append((done, total)))
    assert parsed.ocr_pages == [2] and parsed.pages == 3 and seen == [(0, 1), (1, 1)]
    by_page = {n: " ".join(e.text for e in parsed.elements if e.metadata.page_number == n) for n in (1, 2, 3)}
    assert words(ENGLISH) <= words(by_page[2]), by_page[2]
    assert "mill" in by_page[1] and "November" in by_page[3]
    assert not parsed.warnings


def test_a_pdf_of_scans_only_is_indexed_by_ocr(two_scans):
    parsed = parse_file(two_scans, "pdf", two_scans.name)
    assert parsed.ocr_pages == [1, 2]
    assert "harbour" in " ".join(e.text for e in parsed.elements if e.metadata.page_number == 2)


def test_a_scan_with_a_stamped_reference_in_its_text_layer_still_gets_ocr(tmp_path):
    path = stamp(scanned_pdf(tmp_path / "stamped.pdf", [[ENGLISH]]), "Ref. 000123 received 12 May 2026")
    parsed = parse_file(path, "pdf", path.name)
    assert parsed.ocr_pages == [1]
    text = " ".join(e.text for e in parsed.elements)
    assert words(ENGLISH) <= words(text), text


def test_a_text_page_with_a_small_picture_is_not_ocrd(tmp_path):
    """A logo on a page with a little text is no scan: its text layer stays, no OCR time spent."""
    path = add_picture(text_pages_pdf(tmp_path / "letterhead.pdf", [["Acme Ltd, 1 Mill Street"]]), (450, 720, 72, 72))
    seen = []
    parsed = parse_file(path, "pdf", path.name, ocr_progress=lambda done, total: seen.append(done))
    assert ocr.image_cover(path, [1]) == {1: pytest.approx(72 * 72 / (595 * 842))}
    assert parsed.ocr_pages == [] and seen == []
    assert " ".join(e.text for e in parsed.elements) == "Acme Ltd, 1 Mill Street"


def test_without_tesseract_the_old_errors_and_warnings_stay(two_scans, mixed, monkeypatch, tmp_path):
    monkeypatch.setenv(ocr.TESSERACT_ENV, str(tmp_path / "no-such-tesseract"))
    with pytest.raises(LoragError, match="no text layer; OCR not available"):
        parse_file(two_scans, "pdf", two_scans.name)
    parsed = parse_file(mixed, "pdf", mixed.name)
    assert parsed.ocr_pages == [] and {e.metadata.page_number for e in parsed.elements if e.text} == {1, 3}
    assert parsed.warnings == ["1 page(s) have no text layer (OCR not available), not indexed: 2"]


def test_pictures_without_words_are_reported_after_ocr(tmp_path):
    from PIL import Image

    path = tmp_path / "photo-album.pdf"
    Image.new("L", (1654, 2339), 255).save(path, "PDF", resolution=200)
    with pytest.raises(LoragError, match="no text layer, and OCR found no text on its pages"):
        parse_file(path, "pdf", path.name)
