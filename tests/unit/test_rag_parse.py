"""Parsing and chunking real files with unstructured: page numbers, sections, whole tables, and every kind of
bad input reported per file. Includes the guard against unstructured's silent offline failure."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.rag import parse
from engine.rag.chunk import chunk_elements
from engine.rag.filecheck import check_file
from engine.rag.parse import parse_file, prepare_unstructured
from tests.conftest import need_shared

MB = 2**20


def pdf(name: str):
    return need_shared("pdfs", name)


def parse_pdf(path, **kw):
    return parse_file(path, "pdf", path.name, **kw)


# --- checks before parsing ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, size, head, message", [
    ("notes.exe", 10, b"MZ", "unsupported file type .exe"),
    ("README", 10, b"hello", "unsupported file type (no extension)"),
    ("empty.pdf", 0, b"", "the file is empty"),
    ("huge.pdf", 300 * MB, b"%PDF-1.7", "over the limit of 200 MB"),
    ("photo.pdf", 10, b"\x89PNG\r\n", "the content is a PNG image"),
    ("report.docx", 10, b"%PDF-1.4", "the content is a PDF"),
    ("notes.txt", 10, b"ab\x00\x01cd", "the content is binary data"),
])
def test_bad_files_are_refused_with_a_reason(name, size, head, message):
    with pytest.raises(LoragError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        check_file(name, size, head, 200 * MB)


def test_good_files_pass_the_checks():
    assert check_file("a.PDF", 10, b"%PDF-1.5\n", MB) == "pdf"
    assert check_file("a.md", 10, b"# Title", MB) == "markdown"
    assert check_file("a.docx", 10, b"PK\x03\x04", MB) == "docx"


# --- PDFs -------------------------------------------------------------------------------------------------
def test_pdf_keeps_page_numbers_and_reports_progress():
    path = pdf("pdflatex-4-pages.pdf")
    seen = []
    parsed = parse_pdf(path, pages_per_step=1, progress=lambda done, total: seen.append((done, total)))
    assert parsed.pages == 4 and parsed.strategy == "fast"
    assert {e.metadata.page_number for e in parsed.elements} == {1, 2, 3, 4}
    assert seen[0] == (0, 4) and seen[-1] == (4, 4) and (2, 4) in seen
    chunks = chunk_elements(parsed.elements, 1000, 150, path.name)
    assert chunks and all(c.pages and set(c.pages) <= {1, 2, 3, 4} for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(len(c.text) <= 1000 for c in chunks)


def test_chunks_record_every_page_they_span_and_their_section():
    parsed = parse_pdf(pdf("pdflatex-outline.pdf"))
    chunks = chunk_elements(parsed.elements, 2000, 0, "outline")
    assert any(len(c.pages) > 1 for c in chunks), [c.pages for c in chunks]
    assert any(c.section for c in chunks)
    for c in chunks:
        assert c.pages == sorted(set(c.pages))


def test_password_protected_pdf_says_so_and_opens_with_its_password():
    path = pdf("libreoffice-writer-password.pdf")
    with pytest.raises(LoragError, match="password-protected"):
        parse_pdf(path)
    with pytest.raises(LoragError, match="password is wrong"):
        parse_pdf(path, password="nope")
    parsed = parse_pdf(path, password="openpassword")
    assert parsed.elements and parsed.pages >= 1


def test_image_only_pdf_is_reported_not_indexed_empty():
    """Its pages are 4-pixel pictures: OCR finds no words either (without Tesseract: tests/unit/test_rag_ocr.py)."""
    with pytest.raises(LoragError, match="no text layer, and OCR found no text"):
        parse_pdf(pdf("imagemagick-images.pdf"))


def test_damaged_pdf_is_reported(tmp_path):
    data = pdf("pdflatex-4-pages.pdf").read_bytes()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(data[:200] + b"garbage" * 50)
    with pytest.raises(LoragError, match="broken.pdf: the PDF is damaged"):
        parse_pdf(broken)


def test_pdf_with_broken_structure_is_still_read():
    """PDFium, qpdf and pypdf refuse it; pdfminer (through unstructured) reads it, and the damage is reported."""
    parsed = parse_pdf(pdf("unreadablemetadata.pdf"))
    assert parsed.elements
    assert parsed.warnings == ["The PDF is damaged (root of pages tree has no /Kids array); indexed what could be "
                               "read (1 page(s) with text). Get the complete file and re-index it if pages are "
                               "missing."]


def test_unstructured_silent_offline_failure_is_caught(monkeypatch):
    """Offline, unstructured's spaCy download fails and partition_pdf returns [] without a word. A PDF with a
    text layer must then fail loudly, never be indexed with 0 chunks."""
    import unstructured.nlp.tokenize as tokenize

    prepare_unstructured()

    def offline_download():
        raise RuntimeError("Failed to download spaCy model: <urlopen error [Errno -3] no network>")

    monkeypatch.setattr(tokenize, "_get_nlp", offline_download)
    for cached in (tokenize._process_cached, tokenize._tokenize_for_cache, tokenize.word_tokenize,
                   tokenize.pos_tag):  # earlier parses of the same text would answer from these caches
        cached.cache_clear()
    from unstructured.partition.pdf import partition_pdf

    path = pdf("minimal-document.pdf")
    assert partition_pdf(filename=str(path), strategy="fast", languages=["eng"]) == []  # the silent failure itself
    assert parse_pdf(path).elements  # the text layer comes from PDFium, which needs no NLP download
    # hi_res and PDFs that PDFium cannot open still go through unstructured: there the guard must hold
    with pytest.raises(LoragError, match="no text although the PDF has a text layer"):
        parse._parse_with_unstructured(path, path.name, "fast", "", None, 0, parse.PdfSteps(), [])


@pytest.mark.parametrize("name", ["minimal-document.pdf", "crazyones-pdfa.pdf", "google-doc-document.pdf",
                                  "habibi.pdf", "multicolumn.pdf", "pdflatex-outline.pdf"])
def test_every_pdf_with_a_text_layer_gives_chunks(name):
    parsed = parse_pdf(pdf(name))
    assert chunk_elements(parsed.elements, 1000, 150, name)


# --- other formats through unstructured -----------------------------------------------------------------
def test_text_markdown_and_html(tmp_path):
    (tmp_path / "a.txt").write_text("Plain notes about Weaviate.\n\nHybrid search mixes BM25 and vectors.\n")
    (tmp_path / "b.md").write_text("# Setup\n\nRun start.sh once.\n\n## Usage\n\nOpen the page.\n")
    (tmp_path / "c.html").write_text("<html><body><h1>Guide</h1><p>Hello from HTML.</p></body></html>")
    for name, kind, expected in [("a.txt", "text", "Hybrid search"), ("b.md", "markdown", "Run start.sh"),
                                 ("c.html", "html", "Hello from HTML")]:
        parsed = parse_file(tmp_path / name, kind, name)
        chunks = chunk_elements(parsed.elements, 500, 0, name)
        assert expected in " ".join(c.text for c in chunks)
    md = chunk_elements(parse_file(tmp_path / "b.md", "markdown", "b.md").elements, 500, 0, "b.md")
    assert md[0].section == "Setup"


def test_docx_table_stays_whole_in_one_chunk(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Results", level=1)
    document.add_paragraph("The table below lists every run.")
    table = document.add_table(rows=41, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = "header" if r == 0 else f"run{r}-col{c}-value"
    document.add_paragraph("After the table.")
    path = tmp_path / "runs.docx"
    document.save(path)
    parsed = parse_file(path, "docx", "runs.docx")
    chunks = chunk_elements(parsed.elements, 300, 0, "runs.docx")
    tables = [c for c in chunks if "Table" in c.element_types]
    assert len(tables) == 1, [c.element_types for c in chunks]
    assert "run1-col0-value" in tables[0].text and "run40-col2-value" in tables[0].text
    assert len(tables[0].text) > 300  # bigger than the chunk size, still one chunk
    assert "<table" in tables[0].html
    assert tables[0].section == "Results"


def test_non_utf8_text_and_empty_documents_are_reported(tmp_path):
    (tmp_path / "latin.txt").write_bytes("Grüße".encode("latin-1"))
    with pytest.raises(LoragError, match="not UTF-8"):
        parse_file(tmp_path / "latin.txt", "text", "latin.txt")
    (tmp_path / "blank.md").write_text("\n\n   \n")
    with pytest.raises(LoragError, match="contains no text"):
        parse_file(tmp_path / "blank.md", "markdown", "blank.md")


# --- page steps in worker processes ---------------------------------------------------------------------


def test_pdf_chunks_stay_within_their_page_and_open_with_its_heading():
    parsed = parse_pdf(pdf("pdflatex-outline.pdf"))
    across = chunk_elements(parsed.elements, 2000, 0, "outline")
    within = chunk_elements(parsed.elements, 2000, 0, "outline", within_pages=True)
    assert any(len(c.pages) > 1 for c in across)
    assert all(len(c.pages) == 1 for c in within)
    assert {p for c in within for p in c.pages} == {p for c in across for p in c.pages}
    assert any(c.section == "6 Baz" and c.text.startswith("6 Baz") for c in within)


def test_every_chunk_of_a_pdf_page_carries_the_title_the_page_opens_with():
    from unstructured.documents.elements import ElementMetadata, NarrativeText, Title

    def on(page, element):
        element.metadata = ElementMetadata(page_number=page)
        return element

    elements = [on(1, Title("Consolidated Statement of Cash Flows")), on(1, NarrativeText("Net income 5,363. " * 12)),
                on(1, Title("Cash Flows from Investing Activities")), on(1, NarrativeText("PP&E (1,577). " * 14)),
                on(2, NarrativeText("Notes continue here. " * 10)), on(2, Title("Note 1")),
                on(2, NarrativeText("Policies. " * 20))]
    chunks = chunk_elements(elements, 250, 0, "cash.pdf", within_pages=True)
    page_one = [c.section for c in chunks if c.pages == [1]]
    assert page_one[0] == "Consolidated Statement of Cash Flows"
    assert "Consolidated Statement of Cash Flows > Cash Flows from Investing Activities" in page_one
    page_two = [c.section for c in chunks if c.pages == [2]]
    assert page_two[0] == "Cash Flows from Investing Activities"  # a page without a title of its own
    assert page_two[-1] == "Note 1"
    across = chunk_elements(elements, 250, 0, "cash.txt")
    assert not any(" > " in c.section for c in across)
