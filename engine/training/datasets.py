"""Training files: detect the format of the rows engine.training.records reads (with row and line numbers),
convert and validate every row, store uploads by content.

Uploads are stored content-addressed in data/datasets/<sha256>.<ext> with a small <sha256>.meta.json beside them
(original file name, size, time), so the same file uploaded twice is stored once and can be picked again later.
LLaMA-Factory dataset_info.json files uploaded with them are kept in data/datasets/dataset_info/ and applied to the
data files they name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.safety import safe_filename
from engine.training.dataset_info import ColumnMap, is_dataset_info_file, read_dataset_info
from engine.training.formats import (
    FORMATS,
    Example,
    RowProblem,
    detect_format,
    fill_placeholders,
    format_of_row,
    placeholders_in,
)
from engine.training.records import EXTENSIONS, Records, RowError, read_file_text, read_records

log = logging.getLogger(__name__)

ERRORS_SHOWN = 20
DATASET_INFO_FOLDER = "dataset_info"
FORMAT_NAMES = {"openai": "OpenAI chat", "sharegpt": "ShareGPT", "alpaca": "Alpaca",
                "prompt_completion": "prompt/completion", "text": "plain text",
                "preference": "preference (chosen/rejected)"}


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
    notes: list[str] = field(default_factory=list)    # how the file was read: mapping, list field, turn keys

    def summary(self) -> str:
        """Markdown: one paragraph per fact (how the file was read, how many rows), then the problems as a list."""
        paragraphs = [f"**{self.filename}**: detected format **{self.format_label}** ({self.format_description}).",
                      *self.notes, f"{self.valid} of {self.records} rows are usable."]
        if self.error_count:
            shown = f" (first {len(self.errors)} shown)" if self.error_count > len(self.errors) else ""
            paragraphs.append(f"{self.error_count} row(s) have problems{shown}:\n"
                              + "\n".join(f"- {err}" for err in self.errors))
        if self.placeholders:
            names = ", ".join("{{" + p + "}}" for p in self.placeholders)
            paragraphs.append(f"The rows contain placeholders {names}: fill them in below, or they are trained as "
                              "written.")
        return "\n\n".join(paragraphs)


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


@dataclass
class LoadedDataset:
    examples: list[Example]
    report: DatasetReport


def _detect(values: list[Any], name: str) -> str:
    fmt = detect_format(values)
    if fmt is None:
        first = values[0] if values else None
        keys = ", ".join(list(first)[:8]) if isinstance(first, dict) else type(first).__name__
        raise LoragError(f"{name}: no row looks like a known format (first row: {keys}).",
                         hint="Expected `messages` (OpenAI), `conversations` (ShareGPT), instruction/output "
                              "(Alpaca), prompt/completion, `text`, or chosen/rejected (preference).",
                         key="dataset.unknown_format", hint_key="dataset.unknown_format_hint",
                         params={"name": name, "keys": keys})
    return fmt


def _turn_note(examples: list[Example]) -> str:
    """How the turns were read (key style, renamed roles), for the chat formats."""
    seen = list(dict.fromkeys(m for e in examples for m in e.mapping))
    styles = [m for m in seen if "/" in m and "→" not in m]
    renamed = [m for m in seen if "→" in m]
    if not styles:
        return ""
    keys = " and ".join(f"`{s.split('/')[0]}`/`{s.split('/')[1]}`" for s in styles)
    return f"Turns read with {keys} keys" + (f"; role names mapped: {', '.join(renamed)}." if renamed else ".")


def _convert(records: Records, fmt: str, placeholders: dict[str, str]) -> tuple[list[Example], list[RowError]]:
    convert, examples, errors = FORMATS[fmt].convert, [], list(records.errors)
    for record in records.rows:
        value, seen = record.value, format_of_row(record.value)
        if not isinstance(value, dict):
            errors.append(RowError(record.line, f"a row must be a JSON object, not {type(value).__name__}",
                                   record.row))
        elif seen != fmt:
            what = FORMAT_NAMES.get(seen, "no known format") if seen else "no known format"
            errors.append(RowError(record.line, f"this row looks like {what}, but the file is {FORMAT_NAMES[fmt]}",
                                   record.row))
        else:
            try:
                example = convert(fill_placeholders(value, placeholders), record.line)
            except RowProblem as exc:
                errors.append(RowError(record.line, str(exc), record.row))
                continue
            example.row = record.row
            examples.append(example)
    return examples, sorted(errors, key=lambda e: (e.row, e.line))


def load_dataset(path: Path, name: str, max_bytes: int, placeholders: dict[str, str] | None = None,
                 sha256: str = "", columns: ColumnMap | None = None) -> LoadedDataset:
    """Read, detect the format, convert and validate every row. Bad rows are reported by place, never raised.
    `columns`: a dataset_info.json entry for this file, applied to every row first."""
    records = read_records(path, name, max_bytes)
    if columns is not None:
        for record in records.rows:
            record.value = columns.apply(record.value)
        records.notes.insert(0, columns.note())
    values = [record.value for record in records.rows]
    fmt = _detect(values, name)
    examples, errors = _convert(records, fmt, placeholders or {})
    # a dataset_info mapping already rewrote the turns (and says how); otherwise say how they were read
    notes = records.notes + [note for note in (_turn_note(examples),) if note and columns is None]
    report = DatasetReport(filename=name, sha256=sha256, size=Path(path).stat().st_size, format=fmt,
                           format_label=FORMATS[fmt].label, format_description=FORMATS[fmt].description,
                           records=len(records.rows) + len(records.errors),  # lines that are not JSON are rows too
                           valid=len(examples), errors=errors[:ERRORS_SHOWN], error_count=len(errors),
                           placeholders=[] if placeholders else placeholders_in(values), notes=notes)
    return LoadedDataset(examples, report)


class DatasetStore:
    """data/datasets/: uploads stored by content hash, listed for picking again."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes

    def add_files(self, uploads: list[Path]) -> tuple[StoredDataset | None, list[str]]:
        """Several files at once: LLaMA-Factory dataset_info.json files first (their entries then apply to the data
        files they name, uploaded now or before), then the data files. The last data file stored, and one note per
        dataset_info.json."""
        infos = [u for u in uploads if is_dataset_info_file(u, Path(u).name, self.max_bytes)]
        notes = [self.add_dataset_info(u) for u in infos]
        stored = [self.add(u) for u in uploads if u not in infos]
        return (stored[-1] if stored else None), notes

    def add_dataset_info(self, upload: Path) -> str:
        """Store a dataset_info.json (by content); says which files it describes."""
        maps = read_dataset_info(read_file_text(Path(upload), Path(upload).name, self.max_bytes))
        folder = self.folder / DATASET_INFO_FOLDER
        folder.mkdir(exist_ok=True)
        target = folder / f"{sha256_of(Path(upload))}.json"
        shutil.copyfile(upload, target)
        target.touch()  # the newest upload wins where two describe the same file
        files = ", ".join(sorted({m.file_name for m in maps}))
        return f"dataset_info.json stored: its column names apply to {files} (uploaded now or before)."

    def columns_for(self, filename: str) -> ColumnMap | None:
        """The entry of the newest stored dataset_info.json that describes a file of this name."""
        folder = self.folder / DATASET_INFO_FOLDER
        infos = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() \
            else []
        for info in infos:
            try:
                maps = read_dataset_info(info.read_text(encoding="utf-8-sig"))
            except LoragError:
                continue
            match = next((m for m in maps if m.matches(filename)), None)
            if match is not None:
                return match
        return None

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
            raise LoragError(f"There is no stored dataset {sha256[:12]!r}; upload the file again.",
                             key="dataset.not_stored", params={"id": repr(sha256[:12])})
        meta = json.loads(meta_path.read_text())
        path = next((p for p in (self.folder / f"{sha256}{ext}" for ext in EXTENSIONS) if p.exists()), None)
        if path is None:
            raise LoragError(f"The stored dataset {meta.get('filename', sha256)} is missing its file.",
                             key="dataset.file_missing", params={"name": meta.get('filename', sha256)})
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
        return load_dataset(stored.path, stored.filename, self.max_bytes, placeholders, sha256=sha256,
                            columns=self.columns_for(stored.filename))
