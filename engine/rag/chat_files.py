"""Files dropped into a chat (open-webui's habit): indexed into the chat's own collection, which then answers.

`attach(studio, chat_id, text, files, owner="") -> Attached`
    The chat's own collection is created on the first drop (named after the chat's title, unique per person,
    owned by `owner`, private when logins are on) and reused by later drops; it is an ordinary collection,
    listed in the Documents tab. The files go into it as one ingestion job, the chat's settings choose it
    (all its documents), and the question typed with the files (maybe none) is stored as the user message,
    with the job in its meta (`attachments`): the chat shows the job's progress there, also after a reload.
`files_state(jobs, meta) -> FilesState | None`: what that message's files are doing, in words.
`follow(studio, chat_id, every) -> iterator`: yields while the chat's files are being indexed, then settles
    them: when nothing of them could be indexed and the collection is empty, the chat goes back to the
    collection it had before (so the question is answered without documents instead of refused).
`cancel(studio, chat_id)`: stop the indexing of the chat's files (what is not indexed yet is not added).
`last_drop(chat) -> Message | None`: the last user message, when files came with it.
`asks_question(chat) -> bool`: whether the last message is a question to answer (a drop of files alone is not);
`to_answer(studio, chat)`: the same, and its files' indexing was not stopped (Stop stops the answer too).
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

from engine.chats import ATTACHMENTS, DEFAULT_TITLE, Chat, Message
from engine.errors import LoragError, Phrase
from engine.rag.types import IN_PROGRESS, Collection

if TYPE_CHECKING:
    from engine.jobs import Job, Jobs
    from engine.studio import Studio

OWN_COLLECTION = "files_collection"   # the chat's own collection id, in the chat's settings
NAME_PREFIX = "chat-"
NAME_LENGTH = 48
WORKING = tuple(s for s in IN_PROGRESS if s != "queued")   # a file's status while its job works on it
FileInput = str | Path | tuple[str, str | Path]


@dataclass
class Attached:
    collection: Collection
    job: "Job"
    message: Message


@dataclass
class FilesState:
    title: str                                  # one line: "Indexing report.pdf: parsing page 3 of 12"
    lines: list[str] = field(default_factory=list)   # one per file: what became of it
    active: bool = False
    failed: bool = False                        # no file of the drop was indexed


# --- dropping files --------------------------------------------------------------------------------------
def attach(studio: "Studio", chat_id: str, text: str, files: Sequence[FileInput], owner: str = "") -> Attached:
    if not files:
        raise LoragError("Drop one or more files first.", key="chat.drop_files")
    chat = studio.chats.get(chat_id)
    names = [_name(item) for item in files]
    title = chat.title if chat.title != DEFAULT_TITLE else (text.strip() or names[0])
    collection = chat_collection(studio, chat, title, owner)
    job = studio.rag.ingest(collection, list(files))
    before = {"collection": chat.settings.get("collection", ""), "documents": chat.settings.get("documents", [])}
    studio.chats.update_settings(chat_id, collection=collection.id, documents=[], **{OWN_COLLECTION: collection.id})
    meta = {ATTACHMENTS: {"job": job.id, "files": names, "collection": collection.id, "before": before}}
    message = studio.chats.append(chat_id, "user", text.strip(), meta=meta)
    if studio.chats.get(chat_id).title == DEFAULT_TITLE:
        studio.chats.rename(chat_id, title)
    return Attached(collection=collection, job=job, message=message)


def chat_collection(studio: "Studio", chat: Chat, title: str, owner: str = "") -> Collection:
    """The chat's own collection: the one made for it earlier when `owner` may still add to it, else a new one."""
    known = chat.settings.get(OWN_COLLECTION)
    viewer = owner if studio.access.login_required else None
    if known:
        try:
            return studio.rag.check_owner(known, viewer)
        except LoragError:
            pass   # deleted in the Documents tab (or no longer this person's): make another
    name = free_name(studio, collection_name(title), owner)
    return studio.rag.create_collection(name, owner=owner, shared=not studio.access.login_required)


def collection_name(title: str) -> str:
    """'chat-' and the title's letters and digits, dashes between words (collection names allow no spaces)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", ascii_title).strip("-._").replace("..", ".")
    return (NAME_PREFIX + slug)[:NAME_LENGTH].rstrip("-._") if slug else NAME_PREFIX + "files"


def free_name(studio: "Studio", base: str, owner: str = "") -> str:
    """`base`, or `base-2`, `base-3`… : the first name none of the collections `owner` sees has."""
    taken = {c.name for c in studio.rag.list_collections(viewer=owner or None)}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _name(item: FileInput) -> str:
    return str(item[0]) if isinstance(item, tuple) else Path(item).name


# --- what the chat shows ---------------------------------------------------------------------------------
def files_state(jobs: "Jobs | None", meta: dict) -> FilesState | None:
    """The files of a user message (None when it has none) as the job that indexes them reports."""
    attached = (meta or {}).get(ATTACHMENTS)
    if not attached:
        return None
    names = ", ".join(attached.get("files") or [])
    try:
        job = jobs.get(attached["job"]) if jobs is not None else None
    except LoragError:
        job = None
    if job is None:
        return FilesState(title=Phrase(f"Files: {names}", "chat_files.files", {"names": names}))
    files = job.result.get("files") or []
    lines = [_file_line(f) for f in files]
    if job.active:  # the page says the titles and lines in the person's language (a Phrase: key and params)
        current = next((f for f in files if f.get("status") in WORKING), None)
        name, stage = (current["name"], current["stage"]) if current else (names, job.message or "queued")
        return FilesState(title=Phrase(f"Indexing {name}: {stage}", "chat_files.indexing",
                                       {"name": name, "stage": stage}), lines=lines, active=True)
    done = [f["name"] for f in files if f.get("status") in ("indexed", "skipped")]
    where = job.config.get("collection", "")
    if done:
        failed, indexed = len(files) - len(done), ", ".join(done)
        title = (Phrase(f"Indexed {indexed} into {where} ({failed} not indexed)", "chat_files.indexed_some",
                        {"indexed": indexed, "where": where, "failed": failed}) if failed else
                 Phrase(f"Indexed {indexed} into {where}", "chat_files.indexed", {"indexed": indexed, "where": where}))
        return FilesState(title=title, lines=lines)
    if job.status == "cancelled":
        return FilesState(title=Phrase(f"Indexing cancelled: {names}", "chat_files.cancelled", {"names": names}),
                          lines=lines, failed=True)
    reason = next((f.get("error") for f in files if f.get("error")), "") or job.message or job.status
    return FilesState(title=Phrase(f"Not indexed: {reason}", "chat_files.not_indexed", {"reason": reason}),
                      lines=lines, failed=True)


def _file_line(f: dict) -> str:
    status, name = f.get("status"), f["name"]
    if status == "indexed":
        pages, chunks = f.get("pages", 0), f.get("chunks", 0)
        return Phrase(f"{name}: indexed, {pages} page(s), {chunks} chunk(s)", "chat_files.line_indexed",
                      {"name": name, "pages": pages, "chunks": chunks})
    if status == "skipped":
        return Phrase(f"{name}: already in the collection", "chat_files.line_skipped", {"name": name})
    if status == "failed":
        error = f.get("error", "")
        return (Phrase(f"{name}: not indexed. {error}", "chat_files.line_failed", {"name": name, "error": error})
                if error else Phrase(f"{name}: not indexed.", "chat_files.line_failed_bare", {"name": name}))
    stage = f.get("stage", status)
    return Phrase(f"{name}: {stage}", "chat_files.line_stage", {"name": name, "stage": stage})


def active_jobs(studio: "Studio", chat: Chat) -> list[str]:
    """The ingestion jobs of the chat's dropped files that are still running."""
    ids = [m.meta[ATTACHMENTS]["job"] for m in chat.messages if m.role == "user" and m.meta.get(ATTACHMENTS)]
    out = []
    for job_id in ids:
        try:
            if studio.jobs.get(job_id).active:
                out.append(job_id)
        except LoragError:
            continue
    return out


def cancel(studio: "Studio", chat_id: str) -> list[str]:
    """Cancel the indexing of the chat's dropped files (Stop in the chat); returns the jobs asked to stop."""
    jobs = active_jobs(studio, studio.chats.get(chat_id))
    for job_id in jobs:
        studio.rag.cancel(job_id)
    return jobs


def follow(studio: "Studio", chat_id: str, every: float = 0.5) -> Iterator[None]:
    """Yield every `every` seconds while the chat's files are being indexed; then settle the finished drops."""
    while studio.chats.exists(chat_id) and active_jobs(studio, studio.chats.get(chat_id)):
        yield None
        time.sleep(every)
    if studio.chats.exists(chat_id):
        settle(studio, chat_id)


def settle(studio: "Studio", chat_id: str) -> None:
    """A drop of which nothing was indexed into a still empty collection gives the chat its old choice back."""
    chat = studio.chats.get(chat_id)
    last = last_drop(chat)
    if last is None or chat.settings.get("collection") != last.meta[ATTACHMENTS].get("collection"):
        return
    state = files_state(studio.jobs, last.meta)
    if state is None or state.active or not state.failed:
        return
    try:
        empty = studio.rag.collection(last.meta[ATTACHMENTS]["collection"]).documents == 0
    except LoragError:
        empty = True
    if empty:
        studio.chats.update_settings(chat_id, **last.meta[ATTACHMENTS].get("before", {}))


def last_drop(chat: Chat) -> Message | None:
    """The chat's last user message when files were dropped with it."""
    last = next((m for m in reversed(chat.messages) if m.role == "user"), None)
    return last if last is not None and last.meta.get(ATTACHMENTS) else None


def asks_question(chat: Chat) -> bool:
    """True unless the last message is a drop of files without a question."""
    last = chat.messages[-1] if chat.messages else None
    return not (last is not None and last.role == "user" and last.meta.get(ATTACHMENTS) and not last.content.strip())


def to_answer(studio: "Studio", chat: Chat) -> bool:
    """Whether the last message waits for an answer: a question, unless its files' indexing was stopped."""
    if not asks_question(chat):
        return False
    last = chat.messages[-1] if chat.messages else None
    if last is None or last.role != "user" or not last.meta.get(ATTACHMENTS):
        return True
    try:
        return studio.jobs.get(last.meta[ATTACHMENTS]["job"]).status != "cancelled"
    except LoragError:
        return True
