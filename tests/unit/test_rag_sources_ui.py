"""The sources component's labels (search hits and chat citations, also as saved dicts) and its wiring."""

from engine.rag.types import Citation, Hit
from ui.components.sources import SEPARATOR, citations_markdown, ocr_note, source_label, source_value


def test_hit_and_citation_labels_show_number_file_pages_and_snippet():
    hit = Hit(chunk_id="c1", text="Qwen3 was trained on 36 trillion tokens. " * 10, filename="report.pdf",
              document_id="d", pages=[4, 5], section="Pre-training", score=0.8123, collection="papers")
    label = source_label(hit, 1)
    assert label.startswith("[1] report.pdf · pp. 4-5 · score 0.812 — Qwen3 was trained")
    assert label.endswith("…") and len(label) < 220
    assert source_value(hit) == f"c1{SEPARATOR}papers{SEPARATOR}"
    citation = Citation(n=3, chunk_id="c1", filename="report.pdf", document_id="d", pages=[7], section="",
                        snippet="a snippet", score=0.5, collection="papers")
    assert source_label(citation) == "[3] report.pdf · p. 7 — a snippet"
    assert source_label(citation.to_dict()) == "[3] report.pdf · p. 7 — a snippet"


def test_citations_markdown_escapes_and_numbers():
    md = citations_markdown([{"n": 2, "filename": "a<b>.pdf", "pages": [1], "snippet": "x & y"}])
    assert md == "**[2]** a&lt;b&gt;.pdf, p. 1 — x &amp; y"


def test_panel_builds_inside_blocks_and_show_returns_updates_for_its_outputs(tmp_path):
    import gradio as gr

    from engine.settings import Settings
    from engine.studio import Studio
    from ui.components.sources import SourcesPanel

    studio = Studio(Settings(data_dir=tmp_path, no_weaviate=True))
    with gr.Blocks():
        panel = SourcesPanel(studio, label="Sources", elem_id="t-sources")
    hit = Hit(chunk_id="c9", text="text", filename="f.pdf", document_id="d", pages=[2], section="", score=1.0,
              collection="c")
    updates = panel.show([hit])
    assert len(updates) == len(panel.outputs)
    assert updates[0]["choices"] == [(source_label(hit, 1), f"c9{SEPARATOR}c{SEPARATOR}")]
    assert panel.open(None)[0]["visible"] is False


def test_the_viewer_says_which_cited_pages_were_read_by_ocr():
    assert ocr_note([]) == ""
    assert ocr_note([3]).strip().startswith("Read by OCR (scanned page): p. 3.")
    assert "(scanned pages): pp. 2-3." in ocr_note([2, 3])
