"""What the Documents tab shows per document (languages, OCR pages) and per collection (reranking, language
warning), from real records."""

from __future__ import annotations

from engine.rag.types import Collection, CollectionSettings, Document, IndexInfo
from ui.i18n import headers
from ui.tabs.documents_info import DOC_HEADERS, collection_notes, doc_row, ocr_label


def doc(filename: str, **meta) -> Document:
    return Document(id=filename, collection_id="c", sha256="", filename=filename, size=2048, pages=4, chunks=4,
                    status="indexed", error="", created_at=0.0, meta=meta)


def collection(model: str, **settings) -> Collection:
    return Collection(id="c", name="papers", settings=CollectionSettings(embedding_model=model),
                      index=IndexInfo(name="Lorag_c", model=model, dimensions=384), needs_reindex=False,
                      created_at=0.0)


def test_a_row_names_the_languages_and_the_pages_read_by_ocr():
    scan = doc("scan.pdf", languages=["ru", "en"], ocr_pages=[2, 3, 4])
    row = dict(zip(headers(DOC_HEADERS), doc_row(scan), strict=True))
    assert row["Languages"] == "Russian, English"
    assert row["OCR pages"] == "3 (pp. 2-4)"
    assert row["Size"] == "2.0 KB"
    plain = dict(zip(headers(DOC_HEADERS), doc_row(doc("old.pdf")), strict=True))
    assert plain["Languages"] == "" and plain["OCR pages"] == ""
    assert ocr_label({"ocr_pages": 5}) == "5" and ocr_label({"ocr_pages": []}) == ""


def test_the_collection_notes_say_reranking_and_warn_about_a_language_the_model_misses():
    english = collection("all-minilm-l6-v2")
    notes = collection_notes(english, [doc("байкал.pdf", languages=["ru"]), doc("notes.pdf", languages=["en"])])
    assert "Reranking: **off**" in notes
    assert "doc-language-warning" in notes and "байкал.pdf (Russian)" in notes and "use-multilingual-v3" in notes
    assert "notes.pdf" not in notes
    assert "doc-language-warning" not in collection_notes(english, [doc("notes.pdf", languages=["en"])])
    multilingual = collection("use-multilingual-v3")
    assert "doc-language-warning" not in collection_notes(multilingual, [doc("байкал.pdf", languages=["ru"])])


def test_reranking_shows_on_when_the_collection_turns_it_on():
    english = collection("all-minilm-l6-v2")
    english.settings.rerank = True  # the "rerank" setting, where the collection has it
    assert "Reranking: **on**" in collection_notes(english, [])


def test_the_page_s_language_warning_in_english_is_the_engine_s_own_text():
    from engine.rag.language import language_warning
    from ui.tabs.documents_info import warning_text

    warning = language_warning("all-minilm-l6-v2", [doc("байкал.pdf", languages=["ru"])])
    assert warning_text(warning) == warning.message()      # outside a page event: English
