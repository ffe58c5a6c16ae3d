"""The manifest of a backup folder (manifest.json): what it holds and how much of each, written last, so a folder
without one is an unfinished backup.

A backup folder:
  manifest.json        this file
  lorag.sqlite         SQLite's online-backup copy of data/lorag.sqlite (chats, jobs, collections, documents)
  weaviate/<id>/       the files Weaviate's backup-filesystem module wrote for backup <id> (every collection)
  adapters/ datasets/ uploads/ jobs/ evalsets/ recipes/ ...   a copy of every other folder of the data folder,
                       except models/ (downloaded or imported weights), weaviate/ and backups/
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LoragError

FORMAT = "lorag-backup"
VERSION = 1
MANIFEST = "manifest.json"
SQLITE = "lorag.sqlite"
NOT_COPIED = ("models", "weaviate", "backups")  # weaviate/ goes through Weaviate's own backup module
SQLITE_TABLES = ("chats", "messages", "jobs", "collections", "documents", "eval_answers")


def copied_folders(folder: Path) -> list[str]:
    """The folders of a data folder (or a backup) that a backup copies file by file."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in NOT_COPIED)


@dataclass
class Manifest:
    created_at: str                                         # UTC, ISO 8601
    schema_version: int                                     # PRAGMA user_version of the SQLite copy
    rows: dict[str, int]                                    # SQLite table -> rows
    weaviate_backup_id: str = ""                            # '' when the studio runs without Weaviate
    weaviate_version: str = ""
    weaviate_objects: dict[str, int] = field(default_factory=dict)   # Weaviate collection -> objects
    folders: dict[str, dict[str, int]] = field(default_factory=dict)  # folder -> {"files": n, "bytes": n}
    consistency: str = ""                                   # what the backup guarantees, in words
    format: str = FORMAT
    version: int = VERSION

    def write(self, folder: Path) -> None:
        (Path(folder) / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        path = Path(folder) / MANIFEST
        if not path.is_file():
            raise LoragError(f"{folder} is not a finished Lorag backup: it has no {MANIFEST}.",
                             hint="Point at the folder `launch.py backup DIR` made; a backup that stopped half-way "
                                  "has no manifest.")
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except ValueError as exc:
            raise LoragError(f"{path} is not valid JSON: {exc}") from None
        if data.get("format") != FORMAT:
            raise LoragError(f"{path} is not a Lorag backup manifest.")
        if int(data.get("version", 0)) > VERSION:
            raise LoragError(f"The backup in {folder} has format version {data['version']}, newer than this Lorag "
                             f"reads ({VERSION}).", hint="Restore it with the Lorag that made it, or a newer one.")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def summary(self) -> str:
        rows = ", ".join(f"{n} {table}" for table, n in self.rows.items() if table != "eval_answers")
        objects = sum(self.weaviate_objects.values())
        weaviate = (f"{len(self.weaviate_objects)} Weaviate collection(s), {objects} objects"
                    if self.weaviate_backup_id else "no Weaviate collections")
        files = ", ".join(f"{name} {info['files']} file(s)" for name, info in self.folders.items())
        return f"{rows}; {weaviate}; {files}"
