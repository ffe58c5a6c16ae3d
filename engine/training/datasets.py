"""Training files: read .jsonl / .json (array) with line numbers, validate every row, store uploads by content.

Uploads are stored content-addressed in data/datasets/<sha256>.<ext> with a small <sha256>.meta.json beside them
(original file name, size, time), so the same file uploaded twice is stored once and can be picked again later.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.safety import safe_filename
from engine.training.formats import (
    FORMATS,
    Example,
    RowProblem,
    detect_format,
    fill_placeholders,
    format_of_row,
    placeholders_in,
)

log = logging.getLogger(__name__)

EXTENSIONS = (".jsonl", ".json")
ERRORS_SHOWN = 20
FORMAT_NAMES = {"openai": "OpenAI chat", "sharegpt": "ShareGPT", "alpaca": "Alpaca",
                "prompt_completion": "prompt/completion", "text": "plain text"}


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class DatasetReport:
    """What a person needs to know about a file before training on it."""

    filename: str
    sha256: str
    size: int
    format: str
    format_label: str
    format_description: str
    records: int
    valid: int
    errors: list[RowError] = field(default_factory=list)   # the first ERRORS_SHOWN
    error_count: int = 0
    placeholders: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"**{self.filename}**: detected format **{self.format_label}** ({self.format_description}).",
                 f"{self.valid} of {self.records} rows are usable."]
        if self.error_count:
            lines.append(f"{self.error_count} row(s) have problems" + (f" (first {len(self.errors)} shown)"
                         if self.error_count > len(self.errors) else "") + ":")
            lines += [f"- {err}" for err in self.errors]
        if self.placeholders:
            names = ", ".join("{{" + p + "}}" for p in self.placeholders)
            lines.append(f"The rows contain placeholders {names}: fill them in below, or they are trained as written.")
        return "\n".join(lines)


@dataclass
class StoredDataset:
    sha256: str
    path: Path
    filename: str
    size: int
    uploaded_at: float

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.uploaded_at))
        size = f"{self.size} B" if self.size < 1024 else f"{self.size / 1024:.0f} KB" if self.size < 1 << 20 \
            else f"{self.size / (1 << 20):.1f} MB"
        return f"{self.filename} ({size}, {when}) · {self.sha256[:8]}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _read_text(path: Path, name: str, max_bytes: int) -> str:
    size = path.stat().st_size
    if size > max_bytes:
        raise LoragError(f"{name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.",
                         hint="Split the file, or start the studio with a larger --max-upload-mb.")
    raw = path.read_bytes()
    if not raw.strip():
        raise LoragError(f"{name} is empty: there is nothing to train on.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoragError(f"{name} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8.") from None


def _json_array(text: str, name: str) -> list[tuple[int, Any]]:
    """The elements of a JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoragError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                         hint="A .json file must hold one array of rows; use .jsonl for one row per line.") from None
    if not isinstance(whole, list):
        keys = ", ".join(list(whole)[:5]) if isinstance(whole, dict) else type(whole).__name__
        raise LoragError(f"{name} holds a single JSON {type(whole).__name__} ({keys}), not an array of rows.",
                         hint="Use [ {...}, {...} ] in a .json file, or one object per line in a .jsonl file.")
    out, pos = [], text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return out
        value, end = decoder.raw_decode(text, pos)
        out.append((_line_of(text, pos), value))
        pos = end


def _json_lines(text: str, name: str) -> tuple[list[tuple[int, Any]], list[RowError]]:
    records, errors = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            errors.append(RowError(number, f"not valid JSON ({exc.msg}, column {exc.colno})"))
    if not records:
        first = errors[0] if errors else RowError(1, "no rows")
        raise LoragError(f"{name} is not JSON Lines: none of its lines is a JSON object ({first}).")
    return records, errors


def read_records(path: Path, name: str, max_bytes: int) -> tuple[list[tuple[int, Any]], list[RowError]]:
    """(line, value) for every row of a .jsonl / .json file, and the lines that are not JSON."""
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise LoragError(f"{name}: upload a .jsonl file (one JSON object per line) or a .json file (an array), "
                         f"not {suffix or 'a file without extension'}.")
    text = _read_text(Path(path), name, max_bytes)
    if suffix == ".json" and text.lstrip().startswith("["):
        return _json_array(text, name), []
    if suffix == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError:
            return _json_lines(text, name)  # a .json file written as JSON Lines: read it as such
        return _json_array(text, name), []
    return _json_lines(text, name)


@dataclass
class LoadedDataset:
    examples: list[Example]
    report: DatasetReport


def load_dataset(path: Path, name: str, max_bytes: int, placeholders: dict[str, str] | None = None,
                 sha256: str = "") -> LoadedDataset:
    """Read, detect the format, convert and validate every row. Bad rows are reported by line, never raised."""
    records, errors = read_records(path, name, max_bytes)
    total = len(records) + len(errors)  # rows that are not JSON count as rows too
    values = [value for _, value in records]
    fmt = detect_format(values)
    if fmt is None:
        first = values[0]
        keys = ", ".join(list(first)[:8]) if isinstance(first, dict) else type(first).__name__
        raise LoragError(f"{name}: no row looks like a known format (first row: {keys}).",
                         hint="Expected `messages` (OpenAI), `conversations` (ShareGPT), instruction/output "
                              "(Alpaca), prompt/completion, or `text`.")
    convert = FORMATS[fmt].convert
    examples: list[Example] = []
    for line, value in records:
        seen = format_of_row(value)
        if not isinstance(value, dict):
            errors.append(RowError(line, f"a row must be a JSON object, not {type(value).__name__}"))
            continue
        if seen != fmt:
            what = FORMAT_NAMES.get(seen, "no known format") if seen else "no known format"
            errors.append(RowError(line, f"this row looks like {what}, but the file is {FORMAT_NAMES[fmt]}"))
            continue
        try:
            examples.append(convert(fill_placeholders(value, placeholders or {}), line))
        except RowProblem as exc:
            errors.append(RowError(line, str(exc)))
    errors.sort(key=lambda e: e.line)
    report = DatasetReport(filename=name, sha256=sha256, size=Path(path).stat().st_size, format=fmt,
                           format_label=FORMATS[fmt].label, format_description=FORMATS[fmt].description,
                           records=total,
                           valid=len(examples), errors=errors[:ERRORS_SHOWN], error_count=len(errors),
                           placeholders=[] if placeholders else placeholders_in(values))
    return LoadedDataset(examples, report)


class DatasetStore:
    """data/datasets/: uploads stored by content hash, listed for picking again."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes

    def add(self, upload: Path, filename: str | None = None) -> StoredDataset:
        """Store an uploaded file (checked to be readable training data first) and return it."""
        upload = Path(upload)
        name = safe_filename(filename or upload.name)
        read_records(upload, name, self.max_bytes)  # refuse empty / non-JSON / too large before storing
        sha = sha256_of(upload)
        target = self.folder / f"{sha}{Path(name).suffix.lower()}"
        meta = self.folder / f"{sha}.meta.json"
        if not target.exists():
            tmp = target.with_name(target.name + ".partial")
            shutil.copyfile(upload, tmp)
            tmp.rename(target)
        if not meta.exists():
            meta.write_text(json.dumps({"filename": name, "size": target.stat().st_size, "uploaded_at": time.time()}))
        return self.get(sha)

    def get(self, sha256: str) -> StoredDataset:
        meta_path = self.folder / f"{sha256}.meta.json"
        if not sha256 or not meta_path.is_file() or "/" in sha256:
            raise LoragError(f"There is no stored dataset {sha256[:12]!r}; upload the file again.")
        meta = json.loads(meta_path.read_text())
        path = next((p for p in (self.folder / f"{sha256}{ext}" for ext in EXTENSIONS) if p.exists()), None)
        if path is None:
            raise LoragError(f"The stored dataset {meta.get('filename', sha256)} is missing its file.")
        return StoredDataset(sha256, path, meta["filename"], int(meta["size"]), float(meta["uploaded_at"]))

    def list(self) -> list[StoredDataset]:
        items = []
        for meta in self.folder.glob("*.meta.json"):
            try:
                items.append(self.get(meta.name.split(".")[0]))
            except (LoragError, ValueError, KeyError, json.JSONDecodeError):
                log.warning("skipping unreadable dataset entry %s", meta)
        return sorted(items, key=lambda d: d.uploaded_at, reverse=True)

    def load(self, sha256: str, placeholders: dict[str, str] | None = None) -> LoadedDataset:
        stored = self.get(sha256)
        return load_dataset(stored.path, stored.filename, self.max_bytes, placeholders, sha256=sha256)


def report_dict(report: DatasetReport) -> dict[str, Any]:
    return asdict(report)
