"""Language detection at ingestion, and the warning for a collection whose embedding model misses a language."""

from __future__ import annotations

import pytest

from engine.rag.config import embedding_presets
from engine.rag.language import covers, detect_languages, language_name, language_warning
from engine.rag.types import Document
from tests.conftest import need_shared
from tests.support.pdf_maker import RUSSIAN_PAGES

RUSSIAN = [text for page in RUSSIAN_PAGES for text in page]
ENGLISH = ["The harbour master keeps a blue ledger of every ship that enters the port, with its cargo, its crew "
           f"and the hour of its arrival, and reads it aloud to the council every month. Entry {i}." for i in range(8)]
GERMAN = ["Die Bibliothek der Stadt wurde im neunzehnten Jahrhundert gegründet und besitzt heute mehr als dreihundert"
          f"tausend Bücher, die jeder Bürger kostenlos ausleihen kann. Abschnitt {i}." for i in range(4)]


def doc(filename: str, languages: list[str] | None) -> Document:
    meta = {} if languages is None else {"languages": languages}
    return Document(id=filename, collection_id="c", sha256="", filename=filename, size=1, pages=1, chunks=1,
                    status="indexed", error="", created_at=0.0, meta=meta)


def pdf_passages(name: str) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(need_shared("pdfs", name)).pages]


def test_main_language_of_real_documents():
    assert detect_languages(RUSSIAN) == ["ru"]
    assert detect_languages(pdf_passages("GeoTopo-komprimiert.pdf")) == ["de"]
    # Its tables, formulas and reference lists would vote for other languages: they do not vote.
    assert detect_languages(pdf_passages("Qwen3_Technical_Report.pdf")) == ["en"]
    assert detect_languages(pdf_passages("habibi.pdf")) == ["ar"]   # one short line: the whole text decides


def test_elements_that_are_single_lines_are_joined_into_passages_first():
    lines = [line for page in pdf_passages("GeoTopo-komprimiert.pdf") for line in page.splitlines()]
    assert max(len(line) for line in lines[:200]) < 120  # each too short to vote on its own
    assert detect_languages(lines) == ["de"]
    english_lines = [line for text in ENGLISH for line in text.split(", ")]
    german_lines = [line for text in GERMAN for line in text.split(", ")]
    assert detect_languages(english_lines * 3 + german_lines * 3) == ["en", "de"]


def test_a_second_language_with_a_real_share_is_listed_after_the_main_one():
    assert detect_languages(ENGLISH + GERMAN) == ["en", "de"]
    assert detect_languages(ENGLISH * 10 + GERMAN[:1]) == ["en"]  # one stray passage is not a second language


def test_no_text_to_tell_gives_no_language():
    assert detect_languages([]) == []
    assert detect_languages(["12.5 13.7 20.4 16.9", "Table 3", "—"]) == []


def test_a_300_page_document_is_detected_from_a_sample():
    """Detection reads a sample of passages, not the whole document (its speed is measured, not asserted:
    0.05-0.09 s for 300 pages here)."""
    pages = (pdf_passages("GeoTopo-komprimiert.pdf") * 3)[:300]
    assert detect_languages(pages) == ["de"]


def test_language_names_and_coverage():
    assert language_name("ru") == "Russian" and language_name("de") == "German"
    assert language_name("xx") == "xx"
    assert covers(["en"], "en") and not covers(["en"], "ru")
    assert covers(["multilingual"], "ru") and covers(None, "ru")


def test_an_english_model_over_a_russian_document_warns_and_suggests_multilingual_presets():
    warning = language_warning("all-minilm-l6-v2", [doc("notes.pdf", ["en"]), doc("байкал.pdf", ["ru", "en"]),
                                                    doc("old.pdf", None)])
    assert warning is not None
    assert warning.documents == {"байкал.pdf": ["ru"]} and warning.languages == ["ru"]
    presets = embedding_presets()
    assert warning.suggestions[0] == "use-multilingual-v3"  # shipped: no download needed
    assert set(warning.suggestions) == {n for n, p in presets.items() if n != "all-minilm-l6-v2"
                                        and ("multilingual" in p.languages or "ru" in p.languages)}
    message = warning.message()
    assert "all-minilm-l6-v2 covers English only" in message
    assert "байкал.pdf (Russian)" in message and "use-multilingual-v3" in message and "re-index" in message


@pytest.mark.parametrize("model", ["use-multilingual-v3", "bge-m3"])
def test_a_model_that_covers_the_languages_does_not_warn(model):
    assert language_warning(model, [doc("байкал.pdf", ["ru"]), doc("report.pdf", ["en", "de"])]) is None


def test_a_language_the_shipped_multilingual_model_misses_suggests_only_those_that_cover_it():
    warning = language_warning("use-multilingual-v3", [doc("gedichte.pdf", ["fi"])])
    assert warning is not None and warning.documents == {"gedichte.pdf": ["fi"]}
    assert "use-multilingual-v3" not in warning.suggestions and "bge-m3" in warning.suggestions


def test_a_local_model_folder_is_not_judged():
    assert language_warning("/models/my-own-embedder", [doc("байкал.pdf", ["ru"])]) is None
