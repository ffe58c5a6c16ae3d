"""The SQLite store under the data folder: chats, messages, jobs, collections, documents, settings.

The schema is versioned with `PRAGMA user_version`; MIGRATIONS[i] takes the database from
version i to i + 1. Add a migration at the end; never edit one that has shipped.
One connection per thread (sqlite3 objects are not shared across threads); WAL lets the
training worker process write job rows while the studio reads them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

MIGRATIONS: list[str] = [
    # 0 -> 1: the first schema.
    """
    CREATE TABLE chats (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        owner TEXT NOT NULL DEFAULT '',
        settings TEXT NOT NULL DEFAULT '{}',       -- JSON: model, adapter, collection, system prompt, sampling
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        role TEXT NOT NULL,                        -- system | user | assistant | tool
        content TEXT NOT NULL,
        reasoning TEXT NOT NULL DEFAULT '',        -- Qwen3 <think> part, kept apart from content
        meta TEXT NOT NULL DEFAULT '{}',           -- JSON: token counts, tokens/s, adapter, sources
        created_at REAL NOT NULL,
        UNIQUE (chat_id, position)
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,                        -- training | ingest | download ...
        title TEXT NOT NULL DEFAULT '',
        owner TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,  -- queued, running, cancelling, cancelled, completed, failed, interrupted
        progress REAL NOT NULL DEFAULT 0,          -- 0..1
        message TEXT NOT NULL DEFAULT '',          -- one line for the UI
        config TEXT NOT NULL DEFAULT '{}',
        result TEXT NOT NULL DEFAULT '{}',
        pid INTEGER,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL
    );
    CREATE INDEX jobs_kind ON jobs(kind, created_at);
    CREATE TABLE collections (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL DEFAULT '',
        shared INTEGER NOT NULL DEFAULT 1,
        settings TEXT NOT NULL DEFAULT '{}',       -- JSON: embedding model, chunk size/overlap, strategy
        needs_reindex INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
        sha256 TEXT NOT NULL,
        filename TEXT NOT NULL,
        size INTEGER NOT NULL,
        pages INTEGER NOT NULL DEFAULT 0,
        chunks INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,                      -- queued | parsing | embedding | storing | indexed | failed
        error TEXT NOT NULL DEFAULT '',
        meta TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        UNIQUE (collection_id, sha256)
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL                        -- JSON
    );
    """,
    # 1 -> 2: collection names unique per owner (two people may each have a "papers"), not across the studio.
    # SQLite cannot drop a UNIQUE constraint: the table is rebuilt (foreign keys are off while migrating).
    """
    CREATE TABLE collections_v2 (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT NOT NULL DEFAULT '',
        shared INTEGER NOT NULL DEFAULT 1,
        settings TEXT NOT NULL DEFAULT '{}',
        needs_reindex INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        UNIQUE (owner, name)
    );
    INSERT INTO collections_v2 (id, name, owner, shared, settings, needs_reindex, created_at)
        SELECT id, name, owner, shared, settings, needs_reindex, created_at FROM collections;
    DROP TABLE collections;
    ALTER TABLE collections_v2 RENAME TO collections;
    """,
    # 2 -> 3: evaluation runs (jobs of kind "evaluate"): one row per answered (cell, question), so a run that
    # stopped resumes without answering a finished question again.
    """
    CREATE TABLE eval_answers (
        run_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        cell TEXT NOT NULL,                        -- "<adapter>|<collection>", empty parts: none / no documents
        question_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        scores TEXT NOT NULL DEFAULT '{}',         -- JSON: exact, contains, f1, numbers, passed, rank, hit@k, mrr
        meta TEXT NOT NULL DEFAULT '{}',           -- JSON: sources, retrieved pages, finish reason, tokens
        created_at REAL NOT NULL,
        PRIMARY KEY (run_id, cell, question_id)
    );
    """,
]

JSON_COLUMNS = {"settings", "meta", "config", "result", "scores"}


def now() -> float:
    return time.time()


class Store:
    """Thin access to lorag.sqlite. Rows come back as dicts with JSON columns decoded."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @property
    def version(self) -> int:
        return self._connect().execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Foreign keys are off while migrating (SQLite's way to rebuild a table that others reference, without
        its ON DELETE CASCADE firing); the result is checked before it is committed."""
        conn = self._connect()
        conn.execute("PRAGMA foreign_keys=OFF")
        try:
            with self.transaction():
                current = conn.execute("PRAGMA user_version").fetchone()[0]
                if current > len(MIGRATIONS):
                    raise RuntimeError(f"{self.path} has schema {current}, newer than this Lorag "
                                       f"({len(MIGRATIONS)})")
                for version in range(current, len(MIGRATIONS)):
                    for statement in _statements(MIGRATIONS[version]):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version + 1}")
                broken = conn.execute("PRAGMA foreign_key_check").fetchall() if current < len(MIGRATIONS) else []
                if broken:
                    raise RuntimeError(f"{self.path}: migration left {len(broken)} broken reference(s)")
        finally:
            conn.execute("PRAGMA foreign_keys=ON")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self._connect().execute(sql, _encode(params))

    def one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        row = self.execute(sql, params).fetchone()
        return _decode(row) if row is not None else None

    def all(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        return [_decode(row) for row in self.execute(sql, params).fetchall()]

    def insert(self, table: str, row: dict[str, Any]) -> int:
        cols = ", ".join(row)
        marks = ", ".join(f":{c}" for c in row)
        return self.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", row).lastrowid

    def update(self, table: str, key: str, key_value: Any, changes: dict[str, Any]) -> int:
        if not changes:
            return 0
        sets = ", ".join(f"{c} = :{c}" for c in changes)
        params = {**changes, "_key": key_value}
        return self.execute(f"UPDATE {table} SET {sets} WHERE {key} = :_key", params).rowcount

    def get_setting(self, key: str, default: Any = None) -> Any:
        row = self.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        self.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.executescript would commit our transaction)."""
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line.split("--", 1)[0])
        text = "\n".join(buf).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


def _encode(params: tuple | dict) -> tuple | dict:
    if isinstance(params, dict):
        return {k: json.dumps(v) if k in JSON_COLUMNS and not isinstance(v, str) else v for k, v in params.items()}
    return params


def _decode(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in JSON_COLUMNS & out.keys():
        if isinstance(out[key], str):
            out[key] = json.loads(out[key]) if out[key] else {}
    return out
