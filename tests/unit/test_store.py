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
