"""What an upload is before it is parsed: its kind by extension, refused when empty, too large, or when its
content is not what its name says."""

from __future__ import annotations

from pathlib import Path

from engine.errors import LoragError, Phrase

# Extension -> kind. Everything goes through unstructured.
KINDS = {".pdf": "pdf", ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
         ".html": "html", ".htm": "html", ".docx": "docx"}
SUPPORTED = ", ".join(sorted({ext for ext in KINDS if ext not in (".text", ".markdown", ".htm")}))


def _looks_like(head: bytes) -> str:
    if head.lstrip().startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return Phrase("a PDF", "error.documents.looks_pdf")
    if head.startswith(b"PK\x03\x04"):
        return Phrase("a ZIP archive (e.g. .docx)", "error.documents.looks_zip")
    if head.startswith(b"\x89PNG"):
        return Phrase("a PNG image", "error.documents.looks_png")
    if head.startswith(b"\xff\xd8\xff"):
        return Phrase("a JPEG image", "error.documents.looks_jpeg")
    if b"\x00" in head:
        return Phrase("binary data", "error.documents.looks_binary")
    return Phrase("text", "error.documents.looks_text")


def check_file(filename: str, size: int, head: bytes, max_bytes: int) -> str:
    """The file's kind ('pdf', 'text', ...) or a LoragError saying what is wrong with it."""
    ext = Path(filename).suffix.lower()
    if ext not in KINDS:
        shown = ext or "(no extension)"
        raise LoragError(f"{filename}: unsupported file type {shown}.", hint=f"Upload one of: {SUPPORTED}.",
                         key="documents.unsupported_type", hint_key="documents.unsupported_type_hint",
                         params={"filename": filename, "shown": shown, "supported": SUPPORTED})
    if size == 0:
        raise LoragError(f"{filename}: the file is empty.", key="documents.empty_file", params={"filename": filename})
    if size > max_bytes:
        raise LoragError(f"{filename}: the file is {size / 2**20:.1f} MB, over the limit of "
                         f"{max_bytes / 2**20:.0f} MB.", hint="Raise it with --max-upload-mb.",
                         key="documents.file_too_large", hint_key="documents.file_too_large_hint",
                         params={"filename": filename, "size_mb": size / 2**20, "limit_mb": max_bytes / 2**20})
    kind = KINDS[ext]
    looks = _looks_like(head)
    if kind == "pdf" and looks != "a PDF":
        raise LoragError(f"{filename}: the name says PDF but the content is {looks}.",
                         hint="Check that this is the file you meant, or fix its extension.",
                         key="documents.not_pdf", hint_key="documents.not_pdf_hint",
                         params={"filename": filename, "looks": looks})
    if kind == "docx" and not looks.startswith("a ZIP"):
        raise LoragError(f"{filename}: the name says .docx but the content is {looks}.",
                         key="documents.not_docx", params={"filename": filename, "looks": looks})
    if kind in ("text", "markdown", "html") and looks != "text":
        raise LoragError(f"{filename}: the name says {ext} (text) but the content is {looks}.",
                         key="documents.not_text", params={"filename": filename, "ext": ext, "looks": looks})
    return kind
