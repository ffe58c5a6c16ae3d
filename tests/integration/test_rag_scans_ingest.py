"""Scanned pages and awkward PDFs through the real pipeline (real Weaviate, real embedding model, real Tesseract):
a scanned page gets OCR and a question finds it, the document and the source viewer say which pages OCR read,
and PDFs that used to be refused as scans (one-page PDFKit / PyMuPDF files, a file cut short) are indexed."""

from __future__ import annotations

import pytest

from tests.support.pdfs import mixed_pdf, pdfkit_like, pymupdf_like, scanned_pdf, text_pages_pdf, truncated_pdf
from tests.support.rag import files_by_name, wait_for, wait_job

pytestmark = pytest.mark.weaviate

SCANNED = "The lighthouse keeper counted two hundred and seventeen ships in March."


@pytest.fixture
def rag(rag_studio, request):
    name = request.node.name[:60]
    rag_studio.rag.create_collection(name)
    yield rag_studio.rag, name
    rag_studio.rag.delete_collection(name)


def test_a_scanned_page_is_read_by_ocr_and_a_question_finds_it(rag, rag_studio, tmp_path):
    service, name = rag
    path = mixed_pdf(tmp_path / "harbour-report.pdf", [
        ("text", ["The river flows north past the old mill and feeds the canal system."] * 15),
        ("text", ["The mountain pass closes in November when the first snow arrives."] * 15),
        ("scan", [SCANNED, "He wrote each name in a blue notebook kept by the lamp."])])
    job = service.ingest(name, [path])
    stages = []
    wait_for(lambda: stages.append(rag_studio.jobs.get(job.id).message) or not rag_studio.jobs.get(job.id).active,
             timeout=300, every=0.02)
    job = wait_job(rag_studio, job.id)
    row = files_by_name(job)["harbour-report.pdf"]
    assert row["status"] == "indexed" and row["ocr_pages"] == [3] and not row["warnings"], row
    assert any("harbour-report.pdf: OCR page 0 of 1" in stage for stage in stages), set(stages)

    document = service.document(row["document_id"])
    assert document.meta["ocr_pages"] == [3] and document.pages == 3

    hit = service.search(name, "How many ships did the lighthouse keeper count?", k=1)[0]
    assert 3 in hit.pages and "lighthouse keeper counted two hundred" in hit.text, hit
    assert service.source(hit.chunk_id, name).ocr_pages == [3]     # a chunk may run on from page 2
    assert "Read by OCR (scanned page): p. 3." in _viewer_title(rag_studio, hit)
    other = service.search(name, "Where does the river flow past the old mill?", k=1)[0]
    assert other.pages[0] == 1 and 3 not in other.pages and service.source(other.chunk_id, name).ocr_pages == []


def _viewer_title(studio, hit) -> str:
    """The source viewer's heading, as the Documents and Chat tabs show it when the source is clicked."""
    import gradio as gr

    from ui.components.sources import SourcesPanel, source_value

    with gr.Blocks():
        panel = SourcesPanel(studio, elem_id="t-ocr-sources")
    return panel.open(source_value(hit))[1]


def test_pdfs_once_refused_as_scans_are_indexed(rag, rag_studio, tmp_path):
    service, name = rag
    whole = text_pages_pdf(tmp_path / "whole.pdf", [[f"Page {n}: the {word} orchard grows {fruit}."] * 25
                                                    for n, word, fruit in ((1, "old", "apples"), (2, "new", "pears"),
                                                                           (3, "walled", "plums"))])
    files = [pdfkit_like(tmp_path / "invoice-pdfkit.pdf", ["Invoice 4711 from the bakery on Mill Street."]),
             pymupdf_like(tmp_path / "note-pymupdf.pdf", ["Delivery of the oak table is on Tuesday."]),
             truncated_pdf(tmp_path / "orchards-cut-short.pdf", whole, keep=0.6)]
    job = wait_job(rag_studio, service.ingest(name, files).id)
    rows = files_by_name(job)
    for row in rows.values():
        assert row["status"] == "indexed" and row["chunks"] > 0, row
        assert row["ocr_pages"] == []
        assert not any("scan" in w or "OCR not available" in w for w in row["warnings"]), row
    assert rows["invoice-pdfkit.pdf"]["warnings"] == rows["note-pymupdf.pdf"]["warnings"] == []
    assert rows["orchards-cut-short.pdf"]["warnings"][0].startswith("The PDF is damaged (")
    document = service.document(rows["orchards-cut-short.pdf"]["document_id"])
    assert document.meta["warnings"][0].startswith("The PDF is damaged (")
    assert service.search(name, "Which invoice came from the bakery?", k=1)[0].filename == "invoice-pdfkit.pdf"
    assert service.search(name, "When is the oak table delivered?", k=1)[0].filename == "note-pymupdf.pdf"
    assert service.search(name, "the old orchard grows apples", k=1)[0].filename == "orchards-cut-short.pdf"


def test_cancel_during_ocr_leaves_no_document(rag, rag_studio, tmp_path):
    service, name = rag
    path = scanned_pdf(tmp_path / "scans.pdf", [[SCANNED] * 6 for _ in range(4)])
    job = service.ingest(name, [path])
    wait_for(lambda: "OCR page" in rag_studio.jobs.get(job.id).message, timeout=120)
    service.cancel(job.id)
    job = wait_job(rag_studio, job.id, timeout=30)
    assert job.status == "cancelled" and files_by_name(job)["scans.pdf"]["status"] == "cancelled"
    assert service.documents(name) == [] and service.count(name) == 0
