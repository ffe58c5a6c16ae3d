"""Reading training files: the rows of a .jsonl / .json file (an array, or an object holding one), each with its
line and row number, and the lines that are not JSON. No format is assumed here: engine.training.datasets
detects it and converts the rows; evaluation sets (engine.evaluate.sets) read their files the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.training.dataset_info import looks_like_dataset_info
from engine.training.formats import place

EXTENSIONS = (".jsonl", ".json")
ARRAY_HINT = "Use [ {...}, {...} ] in a .json file, or one object per line in a .jsonl file."


@dataclass
class RowError:
    line: int
    reason: str
    row: int = 0    # position in a JSON array (0: JSON Lines)

    def __str__(self) -> str:
        return f"{place(self.line, self.row)}: {self.reason}"


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def read_file_text(path: Path, name: str, max_bytes: int) -> str:
    size = path.stat().st_size
    if size > max_bytes:
        raise LoragError(f"{name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.",
                         hint="Split the file, or start the studio with a larger --max-upload-mb.",
                         key="dataset.too_large", hint_key="dataset.too_large_hint",
                         params={"name": name, "size": f"{size / 1e6:.1f}", "limit": f"{max_bytes / 1e6:.0f}"})
    raw = path.read_bytes()
    if not raw.strip():
        raise LoragError(f"{name} is empty: there is nothing to train on.", key="dataset.empty", params={"name": name})
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoragError(f"{name} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8.",
                         key="dataset.not_utf8", params={"name": name, "byte": exc.start}) from None


@dataclass
class Record:
    value: Any
    line: int       # 0 where the line does not help (a JSON array written on one line)
    row: int = 0    # position in a JSON array; 0 in JSON Lines, where the line says it


@dataclass
class Records:
    rows: list[Record]
    errors: list[RowError]                             # lines that are not JSON
    notes: list[str] = field(default_factory=list)     # how the file was read, when it is not the plain shape


def _array_at(text: str, start: int) -> list[Record]:
    """The elements of the JSON array starting at text[start] == "[", with their row number and line."""
    decoder = json.JSONDecoder()
    out, pos = [], start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            break
        value, end = decoder.raw_decode(text, pos)
        out.append(Record(value, _line_of(text, pos), len(out) + 1))
        pos = end
    if out and out[0].line == out[-1].line:  # all on one line: the row number alone says where
        for record in out:
            record.line = 0
    return out


def _value_start(text: str, key: str) -> int:
    """Where the value of top-level `key` starts in the JSON object `text`."""
    decoder = json.JSONDecoder()
    pos = text.index("{") + 1
    while True:
        while text[pos] in " \t\r\n,":
            pos += 1
        name, pos = decoder.raw_decode(text, pos)
        while text[pos] in " \t\r\n:":
            pos += 1
        if name == key:
            return pos
        _, pos = decoder.raw_decode(text, pos)


def _rows_of_object(whole: dict[str, Any], text: str, name: str) -> Records:
    """{"data": [...]}: the rows are the one list field of a top-level object."""
    lists = [k for k, v in whole.items() if isinstance(v, list)]
    if len(lists) != 1:
        if lists:
            shown = ", ".join(lists[:5])
            raise LoragError(f"{name} holds a single JSON object with several lists ({shown}), not an array of rows.",
                             hint=ARRAY_HINT, key="dataset.several_lists", hint_key="dataset.array_hint",
                             params={"name": name, "shown": shown})
        keys = ", ".join(list(whole)[:5])
        raise LoragError(f"{name} holds a single JSON object with no list of rows ({keys}), not an array of rows.",
                         hint=ARRAY_HINT, key="dataset.no_list", hint_key="dataset.array_hint",
                         params={"name": name, "keys": keys})
    key = lists[0]
    others = [k for k in whole if k != key]
    note = f"The rows are the `{key}` list of the file's top-level object" + (
        f" (its other fields, {', '.join(others[:5])}, are not used)." if others else ".")
    return Records(_array_at(text, _value_start(text, key)), [], [note])


def _json_document(whole: Any, text: str, name: str) -> Records:
    if looks_like_dataset_info(whole):
        raise LoragError(f"{name} is LLaMA-Factory's dataset_info.json (column names), not rows to train on.",
                         hint="Upload it together with the data file it describes.", key="dataset.info_only",
                         hint_key="dataset.info_only_hint", params={"name": name})
    if isinstance(whole, dict):
        return _rows_of_object(whole, text, name)
    if not isinstance(whole, list):
        raise LoragError(f"{name} holds a single JSON {type(whole).__name__}, not an array of rows.",
                         hint=ARRAY_HINT, key="dataset.single_value", hint_key="dataset.array_hint",
                         params={"name": name, "type": type(whole).__name__})
    return Records(_array_at(text, text.index("[")), [])


def _json_lines(text: str, name: str) -> Records:
    records, errors = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(Record(json.loads(line), number))
        except json.JSONDecodeError as exc:
            errors.append(RowError(number, f"not valid JSON ({exc.msg}, column {exc.colno})"))
    if not records:
        first = errors[0] if errors else RowError(1, "no rows")
        raise LoragError(f"{name} is not JSON Lines: none of its lines is a JSON object ({first}).",
                         key="dataset.not_jsonl", params={"name": name, "first": first})
    return Records(records, errors)


def _check_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise LoragError(f"{name}: upload a .jsonl file (one JSON object per line) or a .json file (an array), "
                         f"not {suffix or 'a file without extension'}.", key="dataset.wrong_extension",
                         params={"name": name, "suffix": suffix or "a file without extension"})
    return suffix


def read_records(path: Path, name: str, max_bytes: int) -> Records:
    """Every row of a .jsonl / .json file with where it is, and the lines that are not JSON."""
    suffix = _check_suffix(name)
    text = read_file_text(Path(path), name, max_bytes)
    if suffix == ".json":
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as exc:
            if not text.lstrip().startswith("["):
                return _json_lines(text, name)  # a .json file written as JSON Lines: read it as such
            raise LoragError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
                             hint="A .json file must hold one array of rows; use .jsonl for one row per line.",
                             key="dataset.bad_json", hint_key="dataset.bad_json_hint",
                             params={"name": name, "error": exc.msg, "line": exc.lineno, "column": exc.colno}) \
                from None
        return _json_document(whole, text, name)
    return _json_lines(text, name)
