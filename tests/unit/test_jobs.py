"""Jobs: status, progress, log, cancel, failures with a message, orphans after a restart."""

import threading

import pytest

from engine.errors import LoragError
from engine.jobs import Jobs
from engine.store import Store


@pytest.fixture
def jobs(tmp_path):
    return Jobs(Store(tmp_path / "lorag.sqlite"), tmp_path / "jobs")


def test_job_runs_to_completion_with_progress_and_log(jobs):
    def work(ctx):
        for i in range(4):
            ctx.progress((i + 1) / 4, f"step {i + 1} of 4")
            ctx.log(f"did step {i + 1}")
        return {"answer": 42}

    job = jobs.create("ingest", "four steps", {"n": 4})
    jobs.run_in_thread(job, work)
    done = jobs.wait(job.id, timeout=10)
    assert done.status == "completed" and done.progress == 1.0
    assert done.result == {"answer": 42} and done.config == {"n": 4}
    assert done.message == "step 4 of 4"
    assert "did step 4" in jobs.log_tail(job.id)
    assert jobs.folder(job.id).is_dir()
    assert [j.id for j in jobs.list("ingest")] == [job.id]


def test_cancel_stops_the_job(jobs):
    started = threading.Event()

    def work(ctx):
        started.set()
        while True:
            ctx.check_cancel()
            threading.Event().wait(0.01)

    job = jobs.create("ingest", "forever")
    jobs.run_in_thread(job, work)
    assert started.wait(5)
    assert jobs.request_cancel(job.id).status == "cancelling"
    assert jobs.wait(job.id, timeout=10).status == "cancelled"


def test_a_cancel_asked_for_before_the_job_starts_is_kept(jobs):
    job = jobs.create("ingest", "cancelled while queued")
    jobs.request_cancel(job.id)

    def work(ctx):
        ctx.check_cancel()
        return {"ran": True}

    jobs.run_in_thread(job, work)
    done = jobs.wait(job.id, timeout=10)
    assert done.status == "cancelled" and done.result == {}


def test_person_caused_error_is_the_message_and_bug_keeps_traceback(jobs):
    def bad_input(ctx):
        raise LoragError("The file is empty.")

    def bug(ctx):
        return 1 / 0

    first = jobs.create("ingest", "bad input")
    jobs.run_in_thread(first, bad_input)
    failed = jobs.wait(first.id, 10)
    assert failed.status == "failed" and failed.message == "The file is empty."

    second = jobs.create("ingest", "bug")
    jobs.run_in_thread(second, bug)
    crashed = jobs.wait(second.id, 10)
    assert crashed.status == "failed" and "ZeroDivisionError" in crashed.message
    assert "Traceback" in jobs.log_tail(second.id)


def test_active_in_process_jobs_are_marked_interrupted_after_restart(tmp_path):
    store = Store(tmp_path / "lorag.sqlite")
    jobs = Jobs(store, tmp_path / "jobs")
    running = jobs.create("ingest", "was running")
    jobs.start(running.id)
    training = jobs.create("training", "runs in its own process")
    jobs.start(training.id)
    store.close()

    after = Jobs(Store(tmp_path / "lorag.sqlite"), tmp_path / "jobs")
    assert after.mark_orphans(("ingest",)) == 1
    assert after.get(running.id).status == "interrupted"
    assert after.get(training.id).status == "running"


def test_unknown_job_is_a_clear_error(jobs):
    with pytest.raises(LoragError, match="no job"):
        jobs.get("nope")


def test_follow_shows_each_state_while_running_then_the_end(jobs):
    go_on = threading.Event()

    def work(ctx):
        ctx.progress(0.5, "half way")
        go_on.wait(10)
        return {"done": True}

    job = jobs.create("merge", "follow me")
    jobs.run_in_thread(job, work)
    seen = []
    for state in jobs.follow(job.id, every=0.01):
        seen.append(state)
        if len(seen) == 3:
            go_on.set()
    assert all(s.active for s in seen[:-1]) and len(seen) >= 3
    assert seen[-1].status == "completed" and seen[-1].result == {"done": True}


def test_find_is_the_chat_or_none(tmp_path):
    from engine.chats import ChatStore

    chats = ChatStore(Store(tmp_path / "chats.sqlite"))
    mine = chats.create("mine", owner="ann")
    assert chats.find(mine.id).title == "mine" and chats.find(mine.id, "ann").id == mine.id
    assert chats.find(mine.id, "bob") is None and chats.find("gone") is None and chats.find(None) is None
