"""Evaluation over the studio's REST API, and a run that outlives a crash of the studio, with the real SmolLM2:

- /v1/evaluation needs the API key; a set uploads over HTTP, a bad one is refused naming its line;
- a run started over HTTP is killed with the studio (kill -9) mid-run; the studio started again on the same data
  folder resumes it by itself, says so in the run's message, and does not answer a finished question again;
- the results come back as the table (JSON); a run can be cancelled over HTTP.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.integration.test_evaluate_smollm2 import answer_rows
from tests.support.studio_process import StudioProcess

pytestmark = pytest.mark.slow

KEY = "sk-lorag-eval-5d2e"
ROWS = [{"id": f"c{i}", "question": f"What is the capital of {country}?", "answer": city}
        for i, (country, city) in enumerate([("France", "Paris"), ("Italy", "Rome"), ("Spain", "Madrid"),
                                             ("Germany", "Berlin"), ("Japan", "Tokyo"), ("Egypt", "Cairo")], 1)]
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """{"server": the running studio (the restart test replaces it), "data": its data folder}."""
    data = tmp_path_factory.mktemp("eval-api") / "data"
    lab = {"data": data, "server": StudioProcess(data, args=["--no-weaviate", "--api", "--api-key", KEY]).start()}
    yield lab
    lab["server"].stop()


def api(lab) -> httpx.Client:
    return httpx.Client(base_url=f"{lab['server'].url}/v1/evaluation", headers=AUTH, timeout=60)


def upload(http: httpx.Client, name: str, rows: list[dict]) -> httpx.Response:
    content = "\n".join(json.dumps(r) for r in rows) + "\n"
    return http.post("/sets", files={"file": (name, content.encode(), "application/jsonl")})


def config_yaml(sha256: str, model: str) -> str:
    """The command line's YAML, as a person would send their file."""
    return (f"set: {sha256}\nbase_model: {model}\nadapters: [none]\ncollections: [no documents]\n"
            "max_new_tokens: 24\n")


def wait_run(http: httpx.Client, run_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = http.get(f"/runs/{run_id}").json()
        if view["status"] not in ("queued", "running", "cancelling"):
            return view
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} still {view['status']}: {view['message']}")


def test_the_evaluation_api_needs_the_key(lab):
    with httpx.Client(base_url=f"{lab['server'].url}/v1/evaluation", timeout=30) as anonymous:
        refused = anonymous.get("/sets")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        assert anonymous.post("/runs", json={"set": "x"}).status_code == 401
    with api(lab) as http:
        assert http.get("/sets").json() == {"object": "list", "data": []}


def test_a_set_uploads_and_a_bad_one_names_its_line(lab):
    with api(lab) as http:
        stored = upload(http, "capitals.jsonl", ROWS)
        assert stored.status_code == 200, stored.text
        assert stored.json()["questions"] == len(ROWS) and stored.json()["filename"] == "capitals.jsonl"
        assert [s["id"] for s in http.get("/sets").json()["data"]] == [stored.json()["id"]]
        bad = upload(http, "bad.jsonl", [{"question": "no answer here"}])
        assert bad.status_code == 400 and "line 1" in bad.json()["error"]["message"], bad.text
        unknown = http.post("/runs", json={"set": stored.json()["id"], "temprature": 0})
        assert unknown.status_code == 400 and "temprature" in unknown.json()["error"]["message"]
        assert http.get("/runs/evaluate-nope").status_code == 404


def test_a_run_resumes_by_itself_after_the_studio_is_killed(lab, smollm2_dir):
    data, total = lab["data"], len(ROWS)
    with api(lab) as http:
        sha256 = upload(http, "capitals.jsonl", ROWS).json()["id"]
        started = http.post("/runs", content=config_yaml(sha256, str(smollm2_dir)),
                            headers={"Content-Type": "application/yaml"})
        assert started.status_code == 200, started.text
    run_id = started.json()["id"]
    deadline = time.monotonic() + 300
    while len(answer_rows(data, run_id)) < 2:
        assert time.monotonic() < deadline, lab["server"].log_tail()
        time.sleep(0.1)
    lab["server"].kill()   # a crash mid-run: no clean-up
    kept = answer_rows(data, run_id)
    assert 2 <= len(kept) < total, "the run ended before the kill: make it longer"

    lab["server"] = StudioProcess(data, args=["--no-weaviate", "--api", "--api-key", KEY]).start()
    with api(lab) as http:
        view = wait_run(http, run_id)
        assert view["status"] == "completed", (view, lab["server"].log_tail())
        assert view["message"].startswith("Resumed after a restart") and view["answered"] == view["total"] == total
        results = http.get(f"/runs/{run_id}/results").json()
    after = answer_rows(data, run_id)
    assert len(after) == total and set(kept) <= set(after)   # the finished answers were not asked again
    assert results["run"]["id"] == run_id and len(results["answers"]) == total
    (row,) = results["table"]
    assert row["cell"] == "none × no documents" and row["answered"] == total and row["contains"] > 0, row
    log = (data / "jobs" / run_id / "log.txt").read_text()
    assert "Resumed after a restart." in log and f"Resuming: {len(kept)} of {total}" in log


def test_a_run_is_cancelled_over_http(lab, smollm2_dir):
    with api(lab) as http:
        sha256 = upload(http, "capitals.jsonl", ROWS).json()["id"]
        run_id = http.post("/runs", json={"set": sha256, "base_model": str(smollm2_dir), "adapters": ["none"],
                                          "max_new_tokens": 24}).json()["id"]
        asked = http.post(f"/runs/{run_id}/cancel")
        assert asked.status_code == 200 and asked.json()["status"] in ("cancelling", "cancelled"), asked.text
        view = wait_run(http, run_id, 120)
        assert view["status"] == "cancelled" and view["answered"] < len(ROWS), view
        assert run_id in [r["id"] for r in http.get("/runs").json()["data"]]
