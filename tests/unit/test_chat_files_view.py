"""How the chat shows files dropped into it (ui.tabs.chat_view over engine.rag.chat_files.files_state), from real
job rows: progress while the job runs, the result file by file, the error in words; the shown messages still
map back to the stored ones (edits and clicks use that), with or without the job at hand."""

from __future__ import annotations

import pytest

from engine.chats import ATTACHMENTS, ChatStore
from engine.jobs import Jobs
from engine.store import Store
from ui.tabs.chat_files import split
from ui.tabs.chat_view import chat_display


@pytest.fixture
def stores(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")
    return ChatStore(store), Jobs(store, tmp_path / "jobs")


def dropped(chats, jobs, text: str, files: list[dict], status: str = "running", message: str = ""):
    job = jobs.create("ingest", "Index", config={"collection": "chat-notes"})
    jobs.update(job.id, status=status, message=message, result={"files": files})
    chat = chats.create()
    chats.append(chat.id, "user", text, meta={ATTACHMENTS: {"job": job.id, "files": [f["name"] for f in files]}})
    return chat.id, job.id


def test_a_running_drop_shows_its_progress_under_the_question(stores):
    chats, jobs = stores
    chat_id, _ = dropped(chats, jobs, "What is in it?",
                         [{"name": "report.pdf", "status": "parsing", "stage": "parsing page 3 of 12"}])
    shown, positions = chat_display(chats.get(chat_id), jobs)
    assert shown[0] == {"role": "user", "content": "What is in it?"}
    assert shown[1]["metadata"] == {"title": "Indexing report.pdf: parsing page 3 of 12", "status": "pending"}
    assert shown[1]["content"] == "- report.pdf: parsing page 3 of 12"
    assert positions == [0, 0]
    assert chat_display(chats.get(chat_id))[1] == positions          # the same mapping without the jobs


def test_a_finished_drop_says_what_was_indexed_and_what_was_not(stores):
    chats, jobs = stores
    files = [{"name": "report.pdf", "status": "indexed", "pages": 12, "chunks": 40},
             {"name": "scan.pdf", "status": "failed", "error": "scan.pdf: no text layer; OCR not available."}]
    chat_id, _ = dropped(chats, jobs, "", files, status="completed")
    shown, positions = chat_display(chats.get(chat_id), jobs)
    assert len(shown) == 1 and positions == [0]                       # no empty question bubble
    assert shown[0]["metadata"] == {"title": "Indexed report.pdf into chat-notes (1 not indexed)", "status": "done"}
    assert shown[0]["content"].splitlines() == ["- report.pdf: indexed, 12 page(s), 40 chunk(s)",
                                                "- scan.pdf: not indexed. scan.pdf: no text layer; OCR not available."]
    assert chats.history(chat_id) == []                               # nothing of a bare drop goes to the model


def test_a_drop_that_failed_names_the_reason(stores):
    chats, jobs = stores
    chat_id, _ = dropped(chats, jobs, "", [{"name": "x.pdf", "status": "failed", "error": "x.pdf: the file is empty."}],
                         status="completed")
    title = chat_display(chats.get(chat_id), jobs)[0][0]["metadata"]["title"]
    assert title == "Not indexed: x.pdf: the file is empty."


def test_the_message_box_value_splits_into_text_and_files():
    assert split({"text": "  hi ", "files": ["/tmp/a.pdf"]}) == ("hi", ["/tmp/a.pdf"])
    assert split("plain") == ("plain", []) and split(None) == ("", [])


def test_a_drop_is_shown_in_russian(stores, monkeypatch):
    monkeypatch.setattr("ui.i18n.current_language", lambda: "ru")
    monkeypatch.setattr("ui.errors.current_language", lambda: "ru")
    chats, jobs = stores
    chat_id, _ = dropped(chats, jobs, "What is in it?",
                         [{"name": "report.pdf", "status": "parsing", "stage": "parsing page 3 of 12"}])
    shown = chat_display(chats.get(chat_id), jobs)[0]
    assert shown[1]["metadata"]["title"] == "Индексация report.pdf: разбор страницы 3 из 12"
    assert shown[1]["content"] == "- report.pdf: разбор страницы 3 из 12"
    files = [{"name": "report.pdf", "status": "indexed", "pages": 12, "chunks": 40},
             {"name": "old.pdf", "status": "skipped"}, {"name": "scan.pdf", "status": "failed"}]
    chat_id, _ = dropped(chats, jobs, "", files, status="completed")
    shown = chat_display(chats.get(chat_id), jobs)[0]
    assert shown[0]["metadata"]["title"] == "report.pdf, old.pdf проиндексировано в chat-notes (не проиндексировано: 1)"
    assert shown[0]["content"].splitlines() == ["- report.pdf: проиндексирован, страниц: 12, фрагментов: 40",
                                                "- old.pdf: уже есть в коллекции", "- scan.pdf: не проиндексирован."]
