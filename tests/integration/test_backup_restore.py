"""Backups of a running studio, restored into an empty data folder: the same chats, collections (object counts and
an identical search result), adapters and jobs history. `launch.py backup` runs beside the studio, as a person
would run it; `launch.py restore` fills a new folder; the documents never change half-way through a backup."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from engine.backup import create
from engine.errors import LoragError
from engine.training.jobfiles import JobFiles, JobSpec
from tests.support.adapters import make_random_adapter
from tests.support.rag import make_studio, wait_job

pytestmark = pytest.mark.weaviate
ROOT = Path(__file__).resolve().parents[2]
QUERY = "Which harbour keeps a blue ledger?"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "launch.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _notes(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"harbour.md": "# Harbour notes\n\nThe harbour master of Kessel keeps a blue ledger of every ship.\n",
             "orchard.md": "# Orchard notes\n\nThe orchard on the hill grows forty kinds of apple and two pears.\n",
             "bridge.md": "# Bridge notes\n\nThe stone bridge was rebuilt in 1911 after the spring flood.\n"}
    for name, text in texts.items():
        (folder / name).write_text(text * 3)
    return [folder / name for name in texts]


def _fill(studio, files: list[Path], base_model: Path) -> None:
    chat = studio.chats.create("Trip planning")
    studio.chats.append(chat.id, "user", "Where is the ledger kept?")
    studio.chats.append(chat.id, "assistant", "At the harbour [1].", meta={"sources": [1]})
    studio.chats.create("Empty chat")
    studio.rag.create_collection("notes")
    wait_job(studio, studio.rag.ingest("notes", files).id)
    studio.rag.create_collection("empty")
    make_random_adapter(base_model, studio.settings.path("adapters", "pirate"))
    job = studio.jobs.create("training", "Train pirate", config={"epochs": 1})
    data = str(studio.settings.data_dir.resolve())
    spec = JobSpec(job_id=job.id, data_dir=data, base_source=f"{data}/models/tiny", base_label="tiny", device="cpu")
    JobFiles(studio.jobs.folder(job.id)).write_json(studio.jobs.folder(job.id) / "config.json", asdict(spec))
    studio.jobs.append_log(job.id, "step 1 loss 2.5")
    studio.jobs.finish(job.id, "completed", "Done.", result={"adapter": "pirate"})
    (studio.settings.path("datasets") / "pirate.jsonl").write_text('{"text": "arr"}\n')
    studio.settings.path("recipes", "training").mkdir(parents=True)
    studio.settings.path("recipes", "training", "quick.yaml").write_text("epochs: 1\n")


def _files(data_dir: Path) -> dict[str, str]:
    """Every file a backup copies as a file (all but models/, weaviate/, backups/ and the SQLite files)."""
    skipped = ("models", "weaviate", "backups")
    return {str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data_dir.rglob("*"))
            if p.is_file() and p.relative_to(data_dir).parts[0] not in skipped and p.parent != data_dir}


def _snapshot(studio) -> dict:
    """What a person would miss: chats with their messages, collections with counts and a search, adapters, jobs."""
    chats = {c.title: [(m.role, m.content, m.meta) for m in studio.chats.get(c.id).messages]
             for c in studio.chats.list()}
    collections = {c.name: (c.documents, c.chunks, studio.rag.count(c.name)) for c in studio.rag.list_collections()}
    hits = [(h.chunk_id, h.filename, h.text, h.score) for h in studio.rag.search("notes", QUERY, k=3)]
    adapters = {a.name: (a.size_bytes, a.meta.rank, a.error) for a in studio.adapters.list()}
    jobs = [(j.id, j.kind, j.status, j.title, j.result, studio.jobs.log_tail(j.id)) for j in studio.jobs.list()]
    return {"chats": chats, "collections": collections, "hits": hits, "adapters": adapters, "jobs": jobs}


def test_backup_of_a_running_studio_restores_into_an_empty_folder(tmp_path, tiny_qwen3):
    studio = make_studio(tmp_path / "a" / "data")
    try:
        _fill(studio, _notes(tmp_path / "files"), tiny_qwen3)
        before, files_before = _snapshot(studio), _files(studio.settings.data_dir)
        assert before["collections"]["notes"][2] > 0 and before["hits"]
        assert {"datasets/pirate.jsonl", "recipes/training/quick.yaml"} <= set(files_before)
        backup = tmp_path / "backup"
        made = _cli("backup", str(backup), "--data-dir", str(studio.settings.data_dir))
        assert made.returncode == 0, made.stderr
        assert studio.weaviate.running  # the backup used the studio's own server and left it running
        studio.chats.create("After the backup")  # the studio goes on; this chat is not in the backup
    finally:
        studio.close()
    # With the studio stopped, the backup starts the managed Weaviate itself (and stops it again).
    later = _cli("backup", str(tmp_path / "later"), "--data-dir", str(studio.settings.data_dir))
    assert later.returncode == 0, later.stderr
    assert json.loads((tmp_path / "later" / "manifest.json").read_text())["rows"]["chats"] == 3
    assert studio.weaviate.other_server_pid() is None
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["rows"]["chats"] == 2 and manifest["rows"]["collections"] == 2
    assert sum(manifest["weaviate_objects"].values()) == before["collections"]["notes"][2]
    assert manifest["folders"]["adapters"]["files"] >= 3 and manifest["folders"]["uploads"]["files"] == 3

    target = tmp_path / "b" / "data"
    (target / "models").mkdir(parents=True)
    (target / "models" / "kept.bin").write_bytes(b"weights")  # models/ is not in backups: it may be there already
    restored = _cli("restore", str(backup), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "Restored in" in restored.stdout
    again = _cli("restore", str(backup), "--data-dir", str(target))
    assert again.returncode == 2 and "is not empty" in again.stderr and "--force" in again.stderr

    copy = make_studio(target)
    try:
        assert _snapshot(copy) == before
        # Every file is the same, but a training job's spec names the data folder it now lives in (a resume
        # must not write into the folder the backup came from).
        specs = {k for k in files_before if k.startswith("jobs/") and k.endswith("/config.json")}
        assert _files(target).keys() == files_before.keys() and len(specs) == 1
        assert {k: v for k, v in _files(target).items() if k not in specs} == {
            k: v for k, v in files_before.items() if k not in specs}
        spec = json.loads((target / next(iter(specs))).read_text())
        assert spec["data_dir"] == str(target.resolve()) and spec["base_source"] == f"{target.resolve()}/models/tiny"
        copy.chats.create("Made in the copy")
    finally:
        copy.close()
    forced = _cli("restore", str(backup), "--data-dir", str(target), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (target / "models" / "kept.bin").read_bytes() == b"weights"
    copy = make_studio(target)
    try:
        assert _snapshot(copy) == before  # "Made in the copy" is gone, the backup's state is back
    finally:
        copy.close()


def test_no_backup_while_documents_are_indexed_and_no_indexing_while_a_backup_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(create, "WAIT_FOR_WRITERS_S", 0.5)
    studio = make_studio(tmp_path / "data")
    try:
        files = _notes(tmp_path / "files")
        current = studio.rag.create_collection("notes")
        with studio.rag.collection_lock(current.id):  # the job stays queued (active) while the test holds this
            job = studio.rag.ingest("notes", files[:1])
            with pytest.raises(LoragError, match="while documents are being indexed"):
                studio.backup(tmp_path / "refused")
        assert not (tmp_path / "refused").exists()
        wait_job(studio, job.id)
        with studio.writes.exclusive(1.0, busy=lambda: "busy"):  # what a backup holds while it copies
            with pytest.raises(LoragError, match="a backup of the data folder is being made"):
                studio.rag.ingest("notes", files[1:])
            with pytest.raises(LoragError, match="a backup of the data folder is being made"):
                studio.rag.delete_collection("notes")
        manifest = studio.backup(tmp_path / "made")
        assert manifest.rows["documents"] == 1
        assert list(manifest.weaviate_objects.values()) == [studio.rag.count("notes")]
        with pytest.raises(LoragError, match="exists and is not empty"):
            studio.backup(tmp_path / "made")
    finally:
        studio.close()


def test_a_backup_without_weaviate_refuses_when_collections_need_it(tmp_path):
    studio = make_studio(tmp_path / "data")
    try:
        studio.rag.create_collection("notes")
    finally:
        studio.close()
    refused = _cli("backup", str(tmp_path / "b"), "--data-dir", str(tmp_path / "data"), "--no-weaviate")
    assert refused.returncode == 2 and "1 collection(s) whose documents live in Weaviate" in refused.stderr
    assert not (tmp_path / "b").exists()
