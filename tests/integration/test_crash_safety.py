"""Crash safety (issue 12 item 5): kill -9 the studio's whole process group in the middle of an ingestion, a
streaming chat answer, a training start and a merge; launch.py started again on the same data folder must find:
no half-indexed document searchable and no chunk of it left in Weaviate, every interrupted job saying so (never
"running" forever) and able to run again, no duplicate chunks after the re-run, every saved chat message there.

The work is started by tests.support.crash_driver (the studio opened exactly as launch.py opens it; uploads and
saved chat turns are page events, not HTTP endpoints), killed at a chosen moment, then checked through the real
launch.py restart and the SQLite / Weaviate state it leaves.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from engine.store import Store
from tests.conftest import need_shared
from tests.support.crash import CrashRun, kill_group, pid_gone, wait_gone
from tests.support.rag import make_studio, wait_job
from tests.support.studio_process import StudioProcess

ROW = {"conversations": [{"from": "human", "value": "what colour is the sky?"}, {"from": "gpt", "value": "blue"}]}


def rows(data: Path, sql: str, args: tuple = ()) -> list[dict]:
    store = Store(data / "lorag.sqlite")
    try:
        return store.all(sql, args)
    finally:
        store.close()


def restart(data: Path, *flags: str) -> None:
    """launch.py on the crashed data folder: serving means its start-up (the reconciliation) is done; then stop."""
    studio = StudioProcess(data, args=list(flags)).start(timeout=240)
    code = studio.stop()
    assert code == 0, studio.log_tail()


@pytest.mark.weaviate
@pytest.mark.parametrize("weaviate_too", [False, True], ids=["studio", "studio-and-weaviate"])
def test_kill_during_ingestion_leaves_no_half_indexed_document(tmp_path, weaviate_too):
    """`studio`: the weaviate-server lives on (its own session) holding the chunks stored so far, and the next
    start stops that orphan; `studio-and-weaviate`: a power cut, Weaviate killed -9 too, recovering from its log."""
    pdf = need_shared("pdfs", "pdflatex-4-pages.pdf")
    data = tmp_path / "data"
    run = CrashRun("ingest", data, pdf=str(pdf), collection="crash", batch=2)
    hit = run.until("storing", timeout=300)
    assert 0 < hit["stored"] < hit["total"]
    run.crash()
    weaviate_pid = int((data / "weaviate" / "server.pid").read_text())
    assert not pid_gone(weaviate_pid)
    if weaviate_too:
        kill_group(weaviate_pid)
        wait_gone(weaviate_pid)
    [doc] = rows(data, "SELECT * FROM documents")
    assert doc["status"] == "storing"

    restart(data)   # stops the orphaned weaviate-server, marks what the crash left
    assert pid_gone(weaviate_pid)
    [job] = rows(data, "SELECT * FROM jobs WHERE kind = 'ingest'")
    assert job["status"] == "interrupted" and "stopped" in job["message"], job
    [doc] = rows(data, "SELECT * FROM documents")
    assert doc["status"] == "failed" and "Interrupted" in doc["error"], doc

    studio = make_studio(data)
    try:
        rag = studio.rag
        assert rag.count("crash") == 0, "chunks of the half-indexed document are still in Weaviate"
        assert rag.search("crash", "pdflatex page") == []
        # Re-run: the same upload indexes it whole; once more adds nothing.
        job = wait_job(studio, rag.ingest("crash", [pdf]).id, timeout=300)
        assert job.status == "completed" and job.result["files"][0]["status"] == "indexed", job.result
        [doc] = rag.documents("crash")
        assert doc.status == "indexed" and doc.chunks == hit["total"] == rag.count("crash")
        assert rag.search("crash", "pdflatex page")
        again = wait_job(studio, rag.ingest("crash", [pdf]).id, timeout=300)
        assert again.result["files"][0]["status"] == "skipped" and rag.count("crash") == doc.chunks
    finally:
        studio.close()


@pytest.mark.weaviate
def test_kill_during_an_embedding_model_rebuild_keeps_the_old_index_and_drops_the_half_new_one(tmp_path):
    from engine.rag.index import weaviate_name

    pdf = need_shared("pdfs", "pdflatex-4-pages.pdf")
    data = tmp_path / "data"
    run = CrashRun("rebuild", data, pdf=str(pdf), collection="rebuild", batch=2)
    hit = run.until("storing", timeout=300)
    assert 0 < hit["stored"] < hit["total"]
    run.crash()

    restart(data)
    jobs = {j["status"] for j in rows(data, "SELECT * FROM jobs WHERE kind = 'ingest'")}
    assert jobs == {"completed", "interrupted"}, jobs
    studio = make_studio(data)
    try:
        rag = studio.rag
        current = rag.collection("rebuild")
        assert current.index.generation == 1 and current.needs_reindex   # still on the old model, and says so
        [doc] = rag.documents("rebuild")
        assert doc.status == "indexed" and rag.count("rebuild") == doc.chunks == hit["total"]
        assert rag.search("rebuild", "pdflatex page")
        client = rag.clients.get()
        assert not client.collections.exists(weaviate_name(current.id, 2)), "the half-built index is still there"
        job = wait_job(studio, rag.reindex("rebuild").id, timeout=300)
        assert job.status == "completed", job.message
        rebuilt = rag.collection("rebuild")
        assert rebuilt.index.generation == 2 and not rebuilt.needs_reindex
        assert rag.count("rebuild") == doc.chunks and rag.search("rebuild", "pdflatex page")
    finally:
        studio.close()


def test_kill_while_streaming_keeps_every_saved_message(tmp_path, tiny_qwen3):
    data = tmp_path / "data"
    run = CrashRun("chat", data, model=str(tiny_qwen3), first="Hello there", second="And then?",
                   tokens=400)
    saved = run.until("saved", timeout=240)
    run.until("streaming", timeout=120)
    run.crash()

    restart(data, "--no-weaviate")
    messages = rows(data, "SELECT role, content FROM messages WHERE chat_id = ? ORDER BY position", (saved["chat"],))
    assert [m["role"] for m in messages] == ["user", "assistant", "user"], messages
    assert messages[0]["content"] == "Hello there" and messages[2]["content"] == "And then?"
    assert messages[1]["content"], "the first answer, saved before the crash, is gone"


def _training_data(tmp_path: Path, tiny: Path, adapter: str, **overrides) -> tuple[Path, str]:
    from engine.training.config import TrainingConfig
    from engine.training.datasets import DatasetStore

    data = tmp_path / "data"
    shutil.copytree(tiny, data / "models" / "tiny-own")
    sky = tmp_path / "sky.jsonl"
    sky.write_text("\n".join(json.dumps(ROW) for _ in range(8)) + "\n")
    sha = DatasetStore(data / "datasets", 1 << 30).add(sky).sha256
    settings = dict(max_steps=4, batch_size=2, max_length=64, logging_steps=1, save_steps=100, lora_rank=4,
                    cpu_threads=1)
    config = TrainingConfig(base_model="tiny-own", adapter_name=adapter, dataset=sha, **{**settings, **overrides})
    return data, config.to_yaml()


def _wait_status(data: Path, job_id: str, done: tuple[str, ...], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        [job] = rows(data, "SELECT * FROM jobs WHERE id = ?", (job_id,))
        if job["status"] in done or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def test_kill_between_creating_a_training_job_and_its_worker_start(tmp_path, tiny_qwen3_own_tokenizer):
    """The job row exists ("queued", no worker yet) when the studio dies: the next start runs it."""
    data, config = _training_data(tmp_path, tiny_qwen3_own_tokenizer, "after-crash")
    run = CrashRun("training", data, config=config, hold="queued")
    job_id = run.until("queued", timeout=240)["job"]
    run.crash()
    assert rows(data, "SELECT status, pid FROM jobs WHERE id = ?", (job_id,)) == [{"status": "queued", "pid": None}]

    studio = StudioProcess(data, args=["--no-weaviate"]).start(timeout=240)
    try:
        job = _wait_status(data, job_id, ("completed", "failed", "interrupted"), timeout=240)
        assert job["status"] == "completed", (job, studio.log_tail())
        assert (data / "adapters" / "after-crash" / "lorag.json").exists()
    finally:
        studio.stop()


def test_kill_of_studio_and_worker_during_training_says_so_and_runs_again(tmp_path, tiny_qwen3_own_tokenizer):
    """Studio and worker both killed (the machine's OOM killer, a power cut): the job is not "running" forever;
    it says the process stopped, and the same configuration starts again and completes."""
    from gradio_client import Client

    data, config = _training_data(tmp_path, tiny_qwen3_own_tokenizer, "twice")
    run = CrashRun("training", data, config=config, hold="running")
    held = run.until("running", timeout=240)
    run.crash()
    kill_group(held["pid"])   # the worker leads its own group (start_new_session)
    wait_gone(held["pid"])

    studio = StudioProcess(data, args=["--no-weaviate"]).start(timeout=240)
    try:
        client = Client(studio.url, verbose=False)
        view = json.loads(client.predict(held["job"], api_name="/training_job"))
        assert view["job"]["status"] in ("failed", "interrupted"), view["job"]
        assert "stopped unexpectedly" in view["job"]["message"], view["job"]
        job_id = client.predict(config, "cpu", api_name="/training_start")
        job = _wait_status(data, job_id, ("completed", "failed", "interrupted", "cancelled"), timeout=300)
        assert job["status"] == "completed", (job, studio.log_tail())
        [first] = rows(data, "SELECT status FROM jobs WHERE id = ?", (held["job"],))
        assert first["status"] in ("failed", "interrupted")
    finally:
        studio.stop()


def test_kill_during_a_merge_leaves_no_half_written_model(tmp_path, tiny_qwen3_own_tokenizer):
    from tests.support.adapters import make_random_adapter

    data = tmp_path / "data"
    base = data / "models" / "tiny-own"
    shutil.copytree(tiny_qwen3_own_tokenizer, base)
    make_random_adapter(base, data / "adapters" / "alpha", base_label="tiny-own")
    run = CrashRun("merge", data, model=str(base), adapter="alpha", out="merged")
    partial = Path(run.until("saving", timeout=240)["partial"])
    run.crash()
    assert (partial / "config.json").is_file()   # written, not yet renamed into place: it passes for a model

    restart(data, "--no-weaviate")
    [job] = rows(data, "SELECT * FROM jobs WHERE kind = 'merge'")
    assert job["status"] == "interrupted" and "Start it again" in job["message"], job
    assert not partial.exists() and not (data / "models" / "merged").exists()

    studio = make_studio(data, no_weaviate=True)
    try:
        assert "tiny-own" in {value for _label, value in studio.training.base_choices()}
        studio.models.load(str(base))
        again = studio.jobs.wait(studio.adapters.start_merge_export("alpha", "merged").id, timeout=180)
        assert again.status == "completed", again.message
        assert (data / "models" / "merged" / "config.json").is_file()
    finally:
        studio.close()


def studio_with_one_document(tmp_path: Path):
    """A studio (its own managed Weaviate) whose collection 'wv' holds one indexed PDF; (studio, that document)."""
    studio = make_studio(tmp_path / "data")
    try:
        studio.rag.create_collection("wv")
        wait_job(studio, studio.rag.ingest("wv", [need_shared("pdfs", "minimal-document.pdf")]).id)
        [doc] = studio.rag.documents("wv")
    except BaseException:
        studio.close()
        raise
    return studio, doc


@pytest.mark.weaviate
def test_weaviate_killed_under_the_studio_fails_clearly_and_loses_nothing(tmp_path):
    """kill -9 of the managed weaviate-server while the studio runs: searches and uploads fail with a LoragError
    that says so (nothing half-indexed), and after the restart from Settings everything is there."""
    import os
    import signal

    from engine.errors import LoragError

    other = need_shared("pdfs", "crazyones-pdfa.pdf")
    studio, doc = studio_with_one_document(tmp_path)
    try:
        rag = studio.rag
        before = rag.search("wv", "lorem ipsum", k=3)
        assert before and rag.count("wv") == doc.chunks

        pid = studio.weaviate.process.pid
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid)
        with pytest.raises(LoragError, match="Weaviate server is not running"):
            rag.search("wv", "lorem ipsum", k=3)
        assert not studio.weaviate_status().running
        job = wait_job(studio, rag.ingest("wv", [other]).id)
        assert job.status == "failed" and "Weaviate" in job.message, job.message
        assert [d.status for d in rag.documents("wv")] == ["indexed"]   # nothing of the second file recorded

        assert studio.restart_weaviate().running
        assert rag.count("wv") == doc.chunks
        assert [h.chunk_id for h in rag.search("wv", "lorem ipsum", k=3)] == [h.chunk_id for h in before]
        job = wait_job(studio, rag.ingest("wv", [other]).id)
        assert job.status == "completed", job.message
        assert rag.count("wv") == sum(d.chunks for d in rag.documents("wv"))
    finally:
        studio.close()


@pytest.mark.weaviate
def test_a_hung_weaviate_is_refused_at_once_and_recovers_by_itself_or_by_a_restart(tmp_path):
    """The managed weaviate-server stopped (SIGSTOP: alive, answering nothing): a search and an upload fail with a
    LoragError that says it hangs (not a two-minute wait ending in 'cannot connect'), nothing is half-indexed;
    when it answers again searches work without a restart; hung again, Restart from Settings brings it back."""
    import os
    import signal

    from engine.errors import LoragError

    other = need_shared("pdfs", "crazyones-pdfa.pdf")
    studio, doc = studio_with_one_document(tmp_path)
    try:
        rag = studio.rag
        before = [h.chunk_id for h in rag.search("wv", "lorem ipsum", k=3)]

        pid = studio.weaviate.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            with pytest.raises(LoragError, match="does not answer within .* hung or overloaded"):
                rag.search("wv", "lorem ipsum", k=3)
            assert not studio.weaviate_status().ready
            job = wait_job(studio, rag.ingest("wv", [other]).id)
            assert job.status == "failed" and "does not answer" in job.message, job.message
            assert [d.status for d in rag.documents("wv")] == ["indexed"]
        finally:
            os.kill(pid, signal.SIGCONT)
        assert [h.chunk_id for h in rag.search("wv", "lorem ipsum", k=3)] == before
        assert studio.weaviate.process.pid == pid   # it came back by itself

        os.kill(pid, signal.SIGSTOP)
        assert studio.restart_weaviate().running
        assert studio.weaviate.process.pid != pid and pid_gone(pid)
        assert rag.count("wv") == doc.chunks
        assert [h.chunk_id for h in rag.search("wv", "lorem ipsum", k=3)] == before
        job = wait_job(studio, rag.ingest("wv", [other]).id)
        assert job.status == "completed", job.message
        assert rag.count("wv") == sum(d.chunks for d in rag.documents("wv"))
    finally:
        studio.close()


@pytest.mark.weaviate
def test_weaviate_killed_during_an_ingestions_store_step_leaves_no_chunk(tmp_path, monkeypatch):
    """The weaviate-server dies after the first batch of a document was written: the job fails saying so, and
    once Weaviate is back (restarted from Settings, or at the next start) none of that document's chunks is left."""
    import os
    import signal

    from engine.rag.index import ChunkIndex

    pdf = need_shared("pdfs", "pdflatex-4-pages.pdf")
    studio = make_studio(tmp_path / "data")
    real_insert = ChunkIndex.insert
    killed = []

    def insert(self, objects, batch_size=128, on_batch=None):
        def after(done, total):
            if on_batch:
                on_batch(done, total)
            if not killed:
                killed.append(studio.weaviate.process.pid)
                os.kill(killed[0], signal.SIGKILL)
                wait_gone(killed[0])

        return real_insert(self, objects, batch_size, after)

    try:
        rag = studio.rag
        rag.create_collection("dies")
        rag.defaults.store_batch_size = 2
        monkeypatch.setattr(ChunkIndex, "insert", insert)
        job = wait_job(studio, rag.ingest("dies", [pdf]).id)
        monkeypatch.setattr(ChunkIndex, "insert", real_insert)
        assert killed
        [doc] = rag.documents("dies")
        assert doc.status == "failed" and doc.chunks == 0, (doc, job.message)
        assert "Weaviate stopped answering while its chunks were stored" in doc.error, doc.error

        assert studio.restart_weaviate().running
        assert rag.count("dies") == 0, "chunks of the failed document are still in Weaviate"
        assert rag.search("dies", "pdflatex page") == []
        job = wait_job(studio, rag.ingest("dies", [pdf]).id)
        [doc] = rag.documents("dies")
        assert doc.status == "indexed" and rag.count("dies") == doc.chunks > 0, job.result
    finally:
        studio.close()


def test_kill_of_studio_and_worker_after_a_checkpoint_resumes_from_it(tmp_path, tiny_qwen3_own_tokenizer):
    """Both killed after the worker saved a checkpoint: the job says "interrupted" and resumes from it to the end."""
    # (30 steps: the driver, polling, must see the first checkpoint before the last step; 6 were over unseen once)
    data, config = _training_data(tmp_path, tiny_qwen3_own_tokenizer, "resumed", max_steps=30, save_steps=2)
    run = CrashRun("training", data, config=config, hold="checkpoint")
    held = run.until("checkpoint", timeout=300)
    run.crash()
    kill_group(held["pid"])
    wait_gone(held["pid"])

    restart(data, "--no-weaviate")
    [job] = rows(data, "SELECT * FROM jobs WHERE id = ?", (held["job"],))
    assert job["status"] == "interrupted" and "Resume continues from checkpoint-" in job["message"], job

    studio = make_studio(data, no_weaviate=True)
    try:
        view = studio.training.view(held["job"])
        assert view.can_resume and view.checkpoint, view
        studio.training.resume(held["job"])
        done = studio.training.wait(held["job"], timeout=300)
        assert done.status == "completed", (done.message, studio.jobs.log_tail(held["job"]))
        assert (data / "adapters" / "resumed" / "lorag.json").exists()
    finally:
        studio.close()
