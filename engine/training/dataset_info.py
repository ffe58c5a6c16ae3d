"""LLaMA-Factory's `dataset_info.json`: the column and tag names of a data file, honoured when uploaded beside it.

An entry names its file (`file_name`), its `formatting` (alpaca or sharegpt), whether it is preference data
(`ranking`), the `columns` that hold each part and, for sharegpt, the `tags` of the turns. `ColumnMap.apply` rewrites
one row into the canonical keys the formats read (instruction/input/output, conversations with role/content turns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from engine.errors import LoragError

FILE_NAME = "dataset_info.json"
ENTRY_KEYS = {"file_name", "formatting", "columns", "tags", "ranking", "hf_hub_url", "ms_hub_url", "script_url"}
ALPACA_COLUMNS = {"prompt": "instruction", "query": "input", "response": "output"}
# tag -> (LLaMA-Factory's default value, the canonical role it stands for)
ROLE_TAGS = {"user_tag": ("human", "user"), "assistant_tag": ("gpt", "assistant"),
             "observation_tag": ("observation", "tool"), "function_tag": ("function_call", "function_call"),
             "system_tag": ("system", "system")}


@dataclass(frozen=True)
class ColumnMap:
    """One entry of a dataset_info.json."""

    entry: str
    file_name: str
    formatting: str = "alpaca"
    ranking: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def matches(self, filename: str) -> bool:
        return PurePosixPath(self.file_name.replace("\\", "/")).name == filename

    def note(self) -> str:
        renamed = ", ".join(f"{k} → `{v}`" for k, v in {**self.columns, **self.tags}.items())
        return (f"Read with the entry `{self.entry}` of the uploaded dataset_info.json ({self.formatting}"
                f"{', preference' if self.ranking else ''}{': ' + renamed if renamed else ''}).")

    def apply(self, row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        out = self._sharegpt(row) if self.formatting == "sharegpt" else self._alpaca(row)
        for part in ("system", "tools"):
            if self.columns.get(part) in row:
                out[part] = row[self.columns[part]]
        return out

    def _alpaca(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {canonical: row.get(self.columns.get(part, canonical)) for part, canonical in ALPACA_COLUMNS.items()}
        if self.columns.get("history") in row:
            out["history"] = row[self.columns["history"]]
        if self.ranking:
            del out["output"]
            out.update(self._preference(row, lambda answer: answer))
        return out

    def _sharegpt(self, row: dict[str, Any]) -> dict[str, Any]:
        turns = row.get(self.columns.get("messages", "conversations"))
        out: dict[str, Any] = {"conversations": [self._turn(t) for t in turns] if isinstance(turns, list) else turns}
        if self.ranking:
            out.update(self._preference(row, self._turn))
        return out

    def _preference(self, row: dict[str, Any], convert) -> dict[str, Any]:
        return {part: convert(row.get(self.columns.get(part, part))) for part in ("chosen", "rejected")}

    def _turn(self, turn: Any) -> Any:
        if not isinstance(turn, dict):
            return turn
        roles = {self.tags.get(tag, default): canonical for tag, (default, canonical) in ROLE_TAGS.items()}
        name = turn.get(self.tags.get("role_tag", "from"))
        return {"role": roles.get(name, name), "content": turn.get(self.tags.get("content_tag", "value"))}


def looks_like_dataset_info(value: Any) -> bool:
    """A JSON object of named entries, each an object with dataset_info keys (file_name, formatting, columns...)."""
    return (isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())
            and any(ENTRY_KEYS & set(v) for v in value.values()))


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise LoragError(f"dataset_info.json: `{where}` must map names to column names (strings).",
                         key="dataset.info_bad_columns", params={"where": where})
    return dict(value)


def parse_dataset_info(value: Any) -> list[ColumnMap]:
    """The entries that describe a local file (hub entries are skipped); refuses what cannot be honoured."""
    if not looks_like_dataset_info(value):
        raise LoragError("This is not a LLaMA-Factory dataset_info.json: it must be an object of named entries, "
                         "each with a file_name.", key="dataset.info_not_dataset_info")
    maps = []
    for entry, spec in value.items():
        if not isinstance(spec.get("file_name"), str) or not spec["file_name"]:
            continue
        formatting = spec.get("formatting", "alpaca")
        if formatting not in ("alpaca", "sharegpt"):
            raise LoragError(f"dataset_info.json, entry {entry}: formatting {formatting!r} is not alpaca or "
                             "sharegpt.",
                             key="dataset.info_bad_formatting", params={"entry": entry, "formatting": formatting})
        maps.append(ColumnMap(entry, spec["file_name"], formatting, bool(spec.get("ranking", False)),
                              _strings(spec.get("columns"), f"{entry}.columns"),
                              _strings(spec.get("tags"), f"{entry}.tags")))
    if not maps:
        raise LoragError("dataset_info.json names no local file (file_name) to read.", key="dataset.info_no_file")
    return maps


def read_dataset_info(text: str) -> list[ColumnMap]:
    try:
        return parse_dataset_info(json.loads(text))
    except json.JSONDecodeError as exc:
        raise LoragError(f"dataset_info.json is not valid JSON: {exc.msg} at line {exc.lineno}.",
                         key="dataset.info_bad_json", params={"error": exc.msg, "line": exc.lineno}) from None


def is_dataset_info_file(path, name: str, max_bytes: int) -> bool:
    """Is this upload a dataset_info.json (by name, or by content for a renamed copy)?"""
    from pathlib import Path

    if Path(name).name.lower() == FILE_NAME:
        return True
    path = Path(path)
    if not name.lower().endswith(".json") or path.stat().st_size > min(max_bytes, 1 << 20):
        return False
    try:
        return looks_like_dataset_info(json.loads(path.read_text(encoding="utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
