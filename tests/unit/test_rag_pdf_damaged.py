"""No good PDF refused: one-page PDFs as PDFKit and PyMuPDF write them, and files cut short in transfer, are read
(the damaged ones with a warning that says so), never taken for scans. The PDFs are made by the tests."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.rag import pdfrepair
from engine.rag.parse import parse_file
from tests.conftest import need_shared
from tests.support.pdfs import pdfkit_like, pymupdf_like, text_pages_pdf, truncated_pdf


def parse(path):
    return parse_file(path, "pdf", path.name)


def text_of(parsed, page=None) -> str:
    return " ".join(e.text for e in parsed.elements if page is None or e.metadata.page_number == page)


@pytest.mark.parametrize("maker", [pdfkit_like, pymupdf_like])
def test_one_page_pdfs_of_common_writers_are_read(maker, tmp_path):
    path = maker(tmp_path / f"{maker.__name__}.pdf", ["Hello World"])
    parsed = parse(path)
    assert parsed.pages == 1 and text_of(parsed) == "Hello World" and not parsed.warnings


def test_a_pdf_cut_short_is_indexed_as_far_as_it_goes_with_a_damaged_warning(tmp_path):
    whole = text_pages_pdf(tmp_path / "whole.pdf", [[f"Page {n} tells of the {word} harbour."] * 20
                                                    for n, word in ((1, "northern"), (2, "southern"), (3, "eastern"))])
    cut = truncated_pdf(tmp_path / "cut.pdf", whole, keep=0.6)
    parsed = parse(cut)
    assert "northern harbour" in text_of(parsed, 1)
    assert any(w.startswith("The PDF is damaged (") and "indexed what could be read" in w for w in parsed.warnings)
    assert not any("OCR" in w and "scan" in w for w in parsed.warnings)


def test_a_real_pdf_missing_its_last_bytes_is_read_with_a_damaged_warning(tmp_path):
    source = need_shared("pdfs", "pdflatex-4-pages.pdf")
    cut = tmp_path / "pdflatex-cut.pdf"
    cut.write_bytes(source.read_bytes()[:-8])    # the end of the trailer and %%EOF lost
    parsed = parse(cut)
    assert parsed.pages == 4 and {e.metadata.page_number for e in parsed.elements} == {1, 2, 3, 4}
    assert parsed.warnings and parsed.warnings[0].startswith("The PDF is damaged (xref not found)")


@pytest.mark.parametrize("cut", [40, 1000])
def test_a_pdf_cut_beyond_repair_is_called_damaged_not_a_scan(cut, tmp_path):
    source = need_shared("pdfs", "pdflatex-4-pages.pdf")  # its trailer sits in the cross-reference stream at the end
    broken = tmp_path / "cut.pdf"
    broken.write_bytes(source.read_bytes()[:-cut])
    with pytest.raises(LoragError, match=r"cut.pdf: the PDF is damaged \(.+\) and no text could be read") as caught:
        parse(broken)
    assert "scan" not in str(caught.value) and "OCR" not in str(caught.value)


def test_damage_is_described_without_paths_and_a_sound_file_has_none(tmp_path):
    import pikepdf

    whole = text_pages_pdf(tmp_path / "whole.pdf", [["Sound file."] * 40, ["Second page."] * 40])
    with pikepdf.open(whole) as pdf:
        assert pdfrepair.damage(pdf) == ""
    cut = truncated_pdf(tmp_path / "cut.pdf", whole, keep=0.7)
    with pikepdf.open(cut) as pdf:
        found = pdfrepair.damage(pdf)
        assert found and str(tmp_path) not in found and "cut.pdf" not in found
        assert pdfrepair.repaired(pdf).startswith(b"%PDF-")
    assert pdfrepair.damage(None, f"{cut}: unable to find trailer dictionary") == "unable to find trailer dictionary"


def test_pypdf_reads_text_that_pdfium_leaves_out(tmp_path):
    """A second extractor for pages PDFium reads as empty: here the text stands outside the page's visible box,
    which PDFium's bounded text skips and pypdf keeps."""
    path = text_pages_pdf(tmp_path / "offbox.pdf", [["Visible line on page one."] * 5, ["Hidden ledger total 4711"]],
                          origins=[(72, 770), (700, 900)])
    parsed = parse(path)
    assert "Hidden ledger total 4711" in text_of(parsed, 2) and parsed.ocr_pages == []
