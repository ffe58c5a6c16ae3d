"""Evaluation sets: .jsonl / .json files of questions with reference answers and optional gold evidence.

A row: `question` and `answer` (the reference; `reference` is accepted too), optional `id`, optional gold
evidence as `file` with `page` (one page) or `pages` (a list), or `evidence`: a list of {file, page} (the shape
of reports-dev and FinanceBench). Pages are 1-based, as a PDF viewer counts them. Errors name the line.
Files are stored content-addressed in data/evalsets/<sha256>.<ext> with <sha256>.meta.json beside them.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.evaluate.scores import Evidence
from engine.training.datasets import sha256_of
from engine.training.formats import place
from engine.training.records import EXTENSIONS, Record, read_records

ERRORS_SHOWN = 20


@dataclass
class Question:
    id: str
    question: str
    answer: str
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "evidence": [{"file": e.file, "pages": list(e.pages)} for e in self.evidence]}


@dataclass
class EvalSet:
    sha256: str
    filename: str
    questions: list[Question]
    errors: list[str] = field(default_factory=list)
    uploaded_at: float = 0.0

    @property
    def with_evidence(self) -> int:
        return sum(1 for q in self.questions if q.evidence)

    @property
    def label(self) -> str:
        return f"{self.filename} ({len(self.questions)} questions) · {self.sha256[:8]}"

    def summary(self) -> str:
        lines = [f"**{self.filename}**: {len(self.questions)} questions, {self.with_evidence} with gold pages."]
        if self.errors:
            lines.append(f"{len(self.errors)} row(s) skipped:\n" + "\n".join(f"- {e}" for e in
                                                                         self.errors[:ERRORS_SHOWN]))
        return "\n\n".join(lines)


def _pages(value: Any, where: str) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    try:
        pages = tuple(int(v) for v in values if v not in (None, ""))
    except (TypeError, ValueError):
        raise ValueError(f"{where}: page must be a number or a list of numbers, not {value!r}") from None
    if any(p < 1 for p in pages):
        raise ValueError(f"{where}: pages count from 1, like a PDF viewer's")
    return pages


def _evidence(row: dict[str, Any], where: str) -> list[Evidence]:
    out = []
    for item in row.get("evidence") or []:
        if not isinstance(item, dict):
            raise ValueError(f"{where}: each evidence item must be an object with file and page")
        out.append(Evidence(str(item.get("file") or ""), _pages(item.get("pages", item.get("page")), where)))
    if row.get("page") is not None or row.get("pages") is not None:
        out.append(Evidence(str(row.get("file") or ""), _pages(row.get("pages", row.get("page")), where)))
    elif row.get("file") and not out:
        out.append(Evidence(str(row["file"]), ()))
    return out


def _question(record: Record) -> Question:
    """A row without an `id` is named by where it is (q5: line 5, or row 5 of a one-line array)."""
    row, where = record.value, place(record.line, record.row)
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a row must be a JSON object with question and answer")
    question = row.get("question")
    answer = row.get("answer", row.get("reference"))
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"{where}: `question` is missing or empty")
    if not isinstance(answer, (str, int, float)) or not str(answer).strip():
        raise ValueError(f"{where}: `answer` (the reference answer) is missing or empty")
    name = str(row.get("id") or f"q{record.line or record.row}")
    return Question(name, question.strip(), str(answer).strip(), _evidence(row, where))


def parse_set(path: Path, name: str, max_bytes: int, sha256: str = "") -> EvalSet:
    records = read_records(Path(path), name, max_bytes)
    errors = [str(e) for e in records.errors]
    questions: list[Question] = []
    seen: set[str] = set()
    for record in records.rows:
        try:
            item = _question(record)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if item.id in seen:
            errors.append(f"{place(record.line, record.row)}: the id {item.id!r} is used twice")
            continue
        seen.add(item.id)
        questions.append(item)
    if not questions:
        if errors:
            raise LoragError(f"{name} has no usable question.", hint="; ".join(errors[:3]),
                             key="evaluate.no_usable_question", params={"name": name})
        raise LoragError(f"{name} has no usable question.", hint="Each row needs a `question` and an `answer`.",
                         key="evaluate.no_usable_question", hint_key="evaluate.rows_need_question_and_answer",
                         params={"name": name})
    return EvalSet(sha256, name, questions, errors)


class EvalSets:
    """data/evalsets/: uploaded evaluation sets by content hash."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes

    def add(self, upload: Path, filename: str | None = None) -> EvalSet:
        upload = Path(upload)
        name = Path(filename or upload.name).name
        sha = sha256_of(upload)
        parsed = parse_set(upload, name, self.max_bytes, sha)   # refuse a bad file before storing it
        target = self.folder / f"{sha}{Path(name).suffix.lower()}"
        if not target.exists():
            shutil.copyfile(upload, target)
            meta = {"filename": name, "size": target.stat().st_size, "uploaded_at": time.time()}
            self._meta_path(sha).write_text(json.dumps(meta), encoding="utf-8")
        parsed.uploaded_at = self._meta(sha)["uploaded_at"]
        return parsed

    def _meta_path(self, sha256: str) -> Path:
        return self.folder / f"{sha256}.meta.json"

    def _meta(self, sha256: str) -> dict[str, Any]:
        path = self._meta_path(sha256)
        if not sha256 or "/" in sha256 or not path.is_file():
            raise LoragError(f"There is no evaluation set {sha256[:12]!r}; upload it again.",
                             key="evaluate.no_set", params={"id": sha256[:12]})
        return json.loads(path.read_text(encoding="utf-8"))

    def _file(self, sha256: str) -> Path:
        found = next((p for p in (self.folder / f"{sha256}{ext}" for ext in EXTENSIONS) if p.exists()), None)
        if found is None:
            raise LoragError(f"The evaluation set {sha256[:12]} is missing its file; upload it again.",
                             key="evaluate.set_file_missing", params={"id": sha256[:12]})
        return found

    def get(self, sha256: str) -> EvalSet:
        meta = self._meta(sha256)
        parsed = parse_set(self._file(sha256), meta["filename"], self.max_bytes, sha256)
        parsed.uploaded_at = float(meta["uploaded_at"])
        return parsed

    def list(self) -> list[EvalSet]:
        out = []
        for meta_path in sorted(self.folder.glob("*.meta.json")):
            try:
                out.append(self.get(meta_path.name.removesuffix(".meta.json")))
            except LoragError:
                continue
        return sorted(out, key=lambda s: s.uploaded_at, reverse=True)

    def record(self, sha256: str, facts: dict[str, Any]) -> None:
        """Keep facts about a set beside it (e.g. the train/held-out split it came from)."""
        meta = {**self._meta(sha256), **facts}
        self._meta_path(sha256).write_text(json.dumps(meta), encoding="utf-8")

    def facts(self, sha256: str) -> dict[str, Any]:
        return self._meta(sha256)

    def delete(self, sha256: str) -> None:
        self._meta(sha256)
        self._file(sha256).unlink(missing_ok=True)
        self._meta_path(sha256).unlink(missing_ok=True)
