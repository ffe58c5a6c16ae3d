"""The SQLite and folder shares of a backup: SQLite through its online backup API, folders file by file."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from engine.backup.manifest import SQLITE_TABLES


def copy_sqlite(source: Path, dest: Path) -> None:
    """A consistent copy of a live database (WAL included) with sqlite3's backup API; other connections go on."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def row_counts(path: Path) -> tuple[int, dict[str, int]]:
    """(schema version, table -> rows) of a SQLite file."""
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in SQLITE_TABLES if t in tables}
        return conn.execute("PRAGMA user_version").fetchone()[0], counts
    finally:
        conn.close()


def copy_folder(source: Path, dest: Path) -> dict[str, int]:
    """Copy a folder that may change meanwhile (a training job rotating checkpoints): a file that vanished before
    its turn is left out. Returns {"files": n, "bytes": n} of the copy."""
    dest.mkdir(parents=True, exist_ok=True)
    files = size = 0
    if not source.is_dir():
        return {"files": 0, "bytes": 0}
    for path in sorted(source.rglob("*")):
        target = dest / path.relative_to(source)
        try:
            if path.is_dir() and not path.is_symlink():
                target.mkdir(parents=True, exist_ok=True)
            elif path.is_file() and not path.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                files, size = files + 1, size + target.stat().st_size
        except FileNotFoundError:
            continue
    return {"files": files, "bytes": size}


def folder_stats(folder: Path) -> dict[str, int]:
    paths = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return {"files": len(paths), "bytes": sum(p.stat().st_size for p in paths)}
