"""The SQLite store: versioned schema, JSON columns, reopen keeps data, threads."""

import sqlite3
import threading

import pytest

from engine.store import MIGRATIONS, Store, now


def test_fresh_store_has_every_table_at_latest_version(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")
    assert store.version == len(MIGRATIONS)
    tables = {r["name"] for r in store.all("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"chats", "messages", "jobs", "collections", "documents", "settings"} <= tables


def test_data_survives_reopen_and_json_round_trips(tmp_path):
    path = tmp_path / "lorag.sqlite"
    store = Store(path)
    store.insert("chats", {"id": "c1", "title": "First", "settings": {"adapter": "a", "temp": 0.7},
                           "created_at": now(), "updated_at": now()})
    store.insert("messages", {"chat_id": "c1", "position": 0, "role": "user", "content": "hi",
                              "meta": {"tokens": 3}, "created_at": now()})
    store.set_setting("theme", {"dark": True})
    store.close()

    again = Store(path)
    assert again.version == len(MIGRATIONS)
    chat = again.one("SELECT * FROM chats WHERE id = ?", ("c1",))
    assert chat["settings"] == {"adapter": "a", "temp": 0.7}
    assert again.all("SELECT meta FROM messages")[0]["meta"] == {"tokens": 3}
    assert again.get_setting("theme") == {"dark": True}
    assert again.get_setting("missing", 5) == 5


def test_deleting_a_chat_deletes_its_messages(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")
    store.insert("chats", {"id": "c1", "title": "t", "created_at": now(), "updated_at": now()})
    store.insert("messages", {"chat_id": "c1", "position": 0, "role": "user", "content": "x", "created_at": now()})
    store.execute("DELETE FROM chats WHERE id = 'c1'")
    assert store.all("SELECT * FROM messages") == []


def test_a_version_1_database_migrates_keeping_collections_and_their_documents(tmp_path):
    """Schema 1 had collection names unique across the studio; 2 makes them unique per owner. The rebuilt
    table keeps every row, and the documents that reference it (ON DELETE CASCADE must not fire)."""
    path = tmp_path / "lorag.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute("INSERT INTO collections (id, name, owner, shared, created_at) VALUES ('c1', 'papers', 'ann', 0, 1)")
    conn.execute("INSERT INTO documents (id, collection_id, sha256, filename, size, status, created_at) "
                 "VALUES ('d1', 'c1', 'abc', 'a.pdf', 10, 'indexed', 1)")
    conn.commit()
    conn.close()

    store = Store(path)
    assert store.version == len(MIGRATIONS) >= 2
    assert store.one("SELECT name, owner, shared FROM collections") == {"name": "papers", "owner": "ann", "shared": 0}
    assert store.one("SELECT collection_id FROM documents WHERE id = 'd1'") == {"collection_id": "c1"}
    store.insert("collections", {"id": "c2", "name": "papers", "owner": "bob", "created_at": now()})
    with pytest.raises(sqlite3.IntegrityError):
        store.insert("collections", {"id": "c3", "name": "papers", "owner": "bob", "created_at": now()})
    store.execute("DELETE FROM collections WHERE id = 'c1'")      # the cascade still works after the rebuild
    assert store.all("SELECT id FROM documents") == []


def test_a_newer_database_is_refused(tmp_path):
    path = tmp_path / "lorag.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)


def test_failed_transaction_rolls_back(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")
    with pytest.raises(ValueError):
        with store.transaction():
            store.set_setting("a", 1)
            raise ValueError("boom")
    assert store.get_setting("a") is None


def test_threads_write_concurrently(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")

    def write(n: int) -> None:
        for i in range(20):
            store.set_setting(f"k{n}-{i}", i)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.one("SELECT count(*) AS n FROM settings")["n"] == 80
