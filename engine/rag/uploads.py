"""Uploaded documents stored by content: data/uploads/<sha[:2]>/<sha256><ext>, and their rendered pages.

The same bytes are stored once whatever the file was called; rendered page images are cached under
data/uploads/pages/<sha256>/<page>.png for the source viewer.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

from engine.errors import LoragError

log = logging.getLogger(__name__)

READ_BLOCK = 1 << 20
PAGE_SCALE = 1.5  # 108 dpi: readable in the viewer, small on disk


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_head(path: Path, size: int = 2048) -> bytes:
    with Path(path).open("rb") as fh:
        return fh.read(size)


class UploadStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str, suffix: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}{suffix.lower()}"

    def store(self, source: Path, sha256: str, suffix: str) -> Path:
        """Copy `source` in (once); returns the stored path."""
        target = self.path_for(sha256, suffix)
        if target.exists() and target.stat().st_size == Path(source).stat().st_size:
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as tmp:
            with Path(source).open("rb") as src:
                shutil.copyfileobj(src, tmp, READ_BLOCK)
        Path(tmp.name).replace(target)
        return target

    def remove(self, sha256: str, suffix: str) -> None:
        self.path_for(sha256, suffix).unlink(missing_ok=True)
        self.decrypted_path(sha256).unlink(missing_ok=True)
        shutil.rmtree(self.folder / "pages" / sha256, ignore_errors=True)

    def decrypted_path(self, sha256: str) -> Path:
        return self.folder / "decrypted" / f"{sha256}.pdf"

    def save_decrypted(self, source: Path, sha256: str, password: str) -> Path | None:
        """A copy without the password, so the source viewer can render pages of a protected PDF that the
        person unlocked to index it (its text is in the index already)."""
        import pikepdf

        target = self.decrypted_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        with pikepdf.open(source, password=password) as pdf:
            if not pdf.is_encrypted:
                return None
            pdf.save(target)
        return target

    def viewable(self, path: Path, sha256: str) -> Path:
        decrypted = self.decrypted_path(sha256)
        return decrypted if decrypted.exists() else path

    def page_image(self, pdf_path: Path, sha256: str, page: int, password: str = "") -> Path | None:
        """PNG of one page (1-based), rendered once with PDFium; None when the PDF cannot be rendered."""
        target = self.folder / "pages" / sha256 / f"{page}.png"
        if target.exists():
            return target
        import pypdfium2 as pdfium

        try:
            doc = pdfium.PdfDocument(str(pdf_path), password=password or None)
        except pdfium.PdfiumError as exc:
            log.info("cannot render %s: %s", pdf_path, exc)
            return None
        try:
            if not 1 <= page <= len(doc):
                raise LoragError(f"Page {page} does not exist (the document has {len(doc)} pages).",
                                 key="documents.no_page", params={"page": page, "pages": len(doc)})
            target.parent.mkdir(parents=True, exist_ok=True)
            pdf_page = doc[page - 1]
            bitmap = pdf_page.render(scale=PAGE_SCALE)
            bitmap.to_pil().save(target)
            bitmap.close()
            pdf_page.close()
        finally:
            doc.close()
        return target
