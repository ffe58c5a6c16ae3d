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


def ingestion_job(status: str = "running"):
    from engine.jobs import Job

    files = [{"name": "a.pdf", "status": "parsing", "stage": "parsing page 3 of 10", "progress": 0.2},
             {"name": "b.pdf", "status": "skipped", "stage": "already indexed", "progress": 1.0},
             {"name": "c.pdf", "status": "storing", "stage": "storing 12 chunks", "progress": 0.8},
             {"name": "d.pdf", "status": "queued", "stage": "a stage the page does not know", "progress": 0.0}]
    return Job("j1", "ingest", "Indexing 4 file(s)", status, progress=0.5, message="a.pdf: parsing page 3 of 10",
               result={"files": files})


def test_an_ingestion_job_in_russian(monkeypatch):
    from ui.tabs.documents_info import job_html

    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    monkeypatch.setattr("ui.errors.current_language", lambda: "ru")
    html = job_html(ingestion_job())
    assert "<span class='lorag-job-status'>выполняется</span>" in html and "data-status='running'" in html
    assert "<th>Файл</th><th>Статус</th><th>Этап</th><th>Прогресс</th>" in html
    assert "<td>разбор</td><td>разбор страницы 3 из 10</td>" in html
    assert "<td>пропущен</td><td>уже проиндексирован</td>" in html
    assert "<td>сохранение</td><td>сохранение фрагментов: 12</td>" in html
    assert "<td>в очереди</td><td>a stage the page does not know</td>" in html
    assert doc_row(doc("notes.pdf"))[4] == "проиндексирован"


def test_an_ingestion_job_in_english_is_as_the_engine_wrote_it():
    from ui.tabs.documents_info import job_html

    html = job_html(ingestion_job("completed"))
    assert "<span class='lorag-job-status'>completed</span>" in html
    assert "<th>File</th><th>Status</th><th>Stage</th><th>Progress</th>" in html
    assert "<td>parsing</td><td>parsing page 3 of 10</td>" in html
    assert "<td>skipped</td><td>already indexed</td>" in html
    assert doc_row(doc("notes.pdf"))[4] == "indexed"


def test_every_stage_the_page_translates_is_one_the_ingestion_writes():
    from pathlib import Path

    from ui.i18n import say
    from ui.tabs.documents_info import STAGE_KEYS, STAGE_PATTERNS

    source = "".join((Path(__file__).resolve().parents[2] / "engine/rag" / name).read_text()
                     for name in ("ingest.py", "ingestion.py"))
    for english, key in STAGE_KEYS.items():
        assert f'"{english}"' in source and say(f"documents.stage.{key}", "en") == english
    for _, key in STAGE_PATTERNS:
        written = say(f"documents.stage.{key}", "en").replace("{count}", "{len(chunks)}")
        assert f'f"{written}"' in source, written


def test_an_ingestion_job_s_line_in_russian_and_as_the_engine_wrote_it_in_english(monkeypatch):
    from ui.tabs.documents_info import ingest_message

    job = ingestion_job()
    files = job.result["files"]
    assert ingest_message(job, files) == "a.pdf: parsing page 3 of 10"
    job.message = "4 file(s): 1 indexed, 2 skipped, 1 failed"
    assert ingest_message(job, files) == "4 file(s): 1 indexed, 2 skipped, 1 failed"
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    monkeypatch.setattr("ui.errors.current_language", lambda: "ru")
    assert ingest_message(job, files) == "файлов: 4 (проиндексирован: 1, пропущен: 2, ошибка: 1)"
    job.message = "a.pdf: parsing page 3 of 10"
    assert ingest_message(job, files) == "a.pdf: разбор страницы 3 из 10"
    job.message = "Something else."
    assert ingest_message(job, files) == "Something else."


def test_the_summary_the_page_translates_is_the_one_the_ingestion_writes():
    from pathlib import Path

    source = (Path(__file__).resolve().parents[2] / "engine/rag/ingest.py").read_text()
    assert 'parts = [f"{n} {status}" for status, n in' in source
    assert 'return f"{len(self.tasks)} file(s): " + ", ".join(parts)' in source
    assert 'message = f"{current.name}: {current.stage}" if current else self.summary()' in source
