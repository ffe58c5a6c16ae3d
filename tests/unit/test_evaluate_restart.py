"""What a studio start does with the evaluation runs the last process left (no model needed: the runs that would
answer are checked before they start): --no-auto-resume leaves them interrupted for the Resume button, one that
was being cancelled ends cancelled, one whose set is gone stays interrupted with the reason, and a finished run is
left alone. (tests/integration/test_evaluate_restart_api.py shows a resumed run finishing with SmolLM2.)"""

from __future__ import annotations

import json
import subprocess

from engine.evaluate.service import KIND
from engine.settings import Settings
from engine.studio import Studio


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def left_behind(data_dir, states: tuple[str, ...]) -> dict[str, str]:
    """A studio that died with a run in each of `states` ('gone': running, on a set since deleted) -> {state: id}."""
    studio = Studio(Settings(data_dir=data_dir, no_weaviate=True))
    upload = data_dir.parent / "one.jsonl"
    upload.write_text(json.dumps({"question": "Capital of Zorbania?", "answer": "Quexalot"}) + "\n")
    kept = studio.evaluation.upload(upload).sha256
    ids = {}
    for state in states:
        job = studio.jobs.create(KIND, state, config={"set": "0" * 64 if state == "gone" else kept})
        studio.jobs.update(job.id, status="running" if state == "gone" else state, pid=dead_pid())
        ids[state] = job.id
    studio.close()
    return ids


def statuses(studio: Studio, ids: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {name: (studio.jobs.get(i).status, studio.jobs.get(i).message) for name, i in ids.items()}


def test_no_auto_resume_leaves_them_for_the_resume_button(tmp_path):
    ids = left_behind(tmp_path / "data", ("running", "cancelling", "completed"))
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True, no_auto_resume=True))
    studio.resume_stopped_work()
    seen = statuses(studio, ids)
    assert seen["running"][0] == "interrupted" and "Resume it" in seen["running"][1]
    assert seen["cancelling"][0] == "cancelled" and seen["completed"][0] == "completed"
    studio.close()


def test_a_run_whose_set_is_gone_says_why_it_did_not_go_on(tmp_path):
    ids = left_behind(tmp_path / "data", ("gone", "cancelling", "completed"))   # none that would answer
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    studio.resume_stopped_work()
    seen = statuses(studio, ids)
    assert seen["gone"][0] == "interrupted", seen["gone"]
    assert seen["gone"][1].startswith("Not resumed after the restart: There is no evaluation set"), seen["gone"]
    assert seen["cancelling"][0] == "cancelled" and seen["completed"][0] == "completed"
    studio.close()
