"""What the Documents tab tells about each document (languages, pages read by OCR) and about its collection
(a language its embedding model does not cover, whether reranking is on). Plain values, no components."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from engine.errors import LoragError
from engine.rag.language import LanguageWarning, language_name, language_warning
from engine.rag.types import Collection, Document
from ui.errors import job_message, person_message, status_word
from ui.i18n import catalogue, pages_text, say

WARNING_STYLE = ("border-left:4px solid #d97706;background:rgba(217,119,6,0.1);padding:0.5em 0.8em;"
                 "border-radius:4px")
DOC_HEADERS = [f"table.doc.{name}" for name in ("name", "pages", "chunks", "size", "status", "languages", "ocr_pages",
                                                 "added", "note")]
# A file's stage as the ingestion writes it (engine.rag.ingest), said from the catalogue; another stays in English.
STAGE_KEYS = {"queued": "queued", "waiting": "waiting", "parsing": "parsing", "indexed": "indexed",
              "already indexed": "already_indexed",
              "failed": "failed", "not indexed (cancelled)": "not_indexed_cancelled",
              "cancelled; nothing of it was indexed": "cancelled_nothing_indexed"}
STAGE_PATTERNS = [(re.compile(rf"^{words} (?P<done>\d+) of (?P<total>\d+)$"), key) for words, key in (
    ("parsing page", "parsing_page"), ("OCR page", "ocr_page"), ("embedding chunk", "embedding_chunk"),
    ("storing chunk", "storing_chunk"))] + [(re.compile(r"^storing (?P<count>\d+) chunks$"), "storing_chunks")]


def doc_row(d: Document) -> list[Any]:
    note = file_error({"error": d.error, "error_facts": d.meta.get("error_facts")}) or "; ".join(
        d.meta.get("warnings") or [])
    return [d.filename, d.pages, d.chunks, _size(d.size), file_status(d.status), languages_label(d.meta),
            ocr_label(d.meta), _date(d.created_at), note]


def file_status(status: str, language: str | None = None) -> str:
    """A file's or a document's status (queued, parsing, indexed, skipped, failed…) in the person's language."""
    key = f"documents.status.{status}"
    return say(key, language) if key in catalogue("en") else status


def stage_label(stage: str, language: str | None = None) -> str:
    """A file's stage ('parsing page 3 of 10', 'already indexed') in the person's language."""
    if stage in STAGE_KEYS:
        return say(f"documents.stage.{STAGE_KEYS[stage]}", language)
    for pattern, key in STAGE_PATTERNS:
        if found := pattern.match(stage):
            return say(f"documents.stage.{key}", language, **found.groupdict())
    return stage


def languages_label(meta: dict[str, Any]) -> str:
    return ", ".join(language_label(code) for code in meta.get("languages") or [])


def language_label(code: str) -> str:
    """A language's name in the person's language (the catalogue's few, else its English name)."""
    key = f"language.{code}"
    return say(key) if key in catalogue("en") else language_name(code)


def warning_text(warning: LanguageWarning) -> str:
    """LanguageWarning.message() in the person's language, from the same facts."""
    known = warning.model_languages
    names = (say("documents.languages_only", names=", ".join(language_label(c) for c in known)) if len(known) <= 3
             else say("documents.languages_count", count=len(known)))
    docs = "; ".join(f"{name} ({', '.join(language_label(c) for c in codes)})"
                     for name, codes in sorted(warning.documents.items()))
    text = say("documents.language_warning", model=warning.model, names=names, count=len(warning.documents),
               docs=docs)
    if not warning.suggestions:
        return text
    text += say("documents.language_switch")
    if warning.offline:
        text += say("documents.works_offline" if len(warning.offline) == 1 else "documents.work_offline",
                    names=", ".join(warning.offline))
    downloads = [name for name in warning.suggestions if name not in warning.offline]
    if downloads:
        text += (";" if warning.offline else "") + say("documents.need_download", names=", ".join(downloads))
    return text + "."


def ocr_label(meta: dict[str, Any]) -> str:
    """'' when no page was read by OCR; else how many, and which (meta "ocr_pages": page numbers or a count)."""
    pages = meta.get("ocr_pages")
    if not pages:
        return ""
    if isinstance(pages, int):
        return str(pages)
    return f"{len(pages)} ({pages_text(list(pages))})"


def collection_notes(collection: Collection, documents: list[Document]) -> str:
    """Markdown under the collection's summary: reranking on or off, and the language warning if any."""
    rerank = bool(getattr(collection.settings, "rerank", False))
    lines = [f"<span id='doc-rerank'>{say('documents.reranking_on' if rerank else 'documents.reranking_off')}</span>"]
    warning = language_warning(collection.index.model, documents)
    if warning is not None:
        lines.append(f"<div id='doc-language-warning' style='{WARNING_STYLE}'>⚠️ {html.escape(warning_text(warning))}"
                     "</div>")
    return "\n\n".join(lines)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _date(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def bar(fraction: float) -> str:
    pct = max(0.0, min(1.0, fraction)) * 100
    return (f"<div class='lorag-bar' title='{pct:.0f}%' style='background:var(--border-color-primary);"
            f"border-radius:4px;height:8px;min-width:120px'><div style='width:{pct:.0f}%;height:8px;"
            f"border-radius:4px;background:var(--color-accent)'></div></div>")


def file_error(task: dict[str, Any], language: str | None = None) -> str:
    """A file's error in the person's language (a task written before error_facts existed: as stored)."""
    error, facts = task.get("error") or "", task.get("error_facts")
    return person_message(LoragError.from_facts(error, facts), language) if error and facts else error


SUMMARY = re.compile(r"^(?P<count>\d+) file\(s\): (?P<parts>.*)$")


def ingest_message(job, files: list[dict[str, Any]]) -> str:
    """An ingestion job's line in the person's language: a failed job's refusal, the file at work and its stage
    ('a.pdf: parsing page 3 of 10'), or the summary ('3 file(s): 2 indexed, 1 failed'); else as written."""
    message = job_message(job)
    if job.status == "failed" or message != job.message:
        return message
    for f in files:
        if message == f"{f['name']}: {f.get('stage', '')}":
            return f"{f['name']}: {stage_label(f.get('stage', ''))}"
    if message == "queued":
        return file_status("queued")
    summary = SUMMARY.match(message)
    if summary and all(len(part.split(" ", 1)) == 2 for part in summary["parts"].split(", ")):
        parts = [say("documents.files_summary_part", count=n, status=file_status(status)) for n, status in
                 (part.split(" ", 1) for part in summary["parts"].split(", "))]
        return say("documents.files_summary", count=summary["count"], parts=", ".join(parts))
    return message


def job_html(job) -> str:
    """An ingestion job with one row per file: status, stage (or its error) and a progress bar."""
    files = job.result.get("files", []) if isinstance(job.result, dict) else []
    rows = "".join(
        f"<tr><td>{html.escape(f['name'])}</td><td>{html.escape(file_status(f['status']))}</td>"
        f"<td>{html.escape(file_error(f) or stage_label(f.get('stage') or ''))}</td>"
        f"<td>{bar(f.get('progress', 0))}</td></tr>"
        for f in files)
    head = "".join(f"<th>{say(f'table.file.{name}')}</th>" for name in ("file", "status", "stage", "progress"))
    return (f"<div class='lorag-job' data-status='{job.status}'><b>{html.escape(job.title)}</b> — "
            f"<span class='lorag-job-status'>{html.escape(status_word(job.status))}</span>: "
            f"{html.escape(ingest_message(job, files))}"
            f"{bar(job.progress)}<table class='lorag-files'><tr>{head}</tr>{rows}</table></div>")
