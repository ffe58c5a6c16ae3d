"""Killing the studio (kill -9) during a training job loses nothing: the worker keeps training, and the studio
started again shows the job still running (or completed) with its loss history."""

from __future__ import annotations

import json
import shutil
import time

from engine.store import Store
from engine.training.config import TrainingConfig
from engine.training.datasets import DatasetStore
from engine.training.runner import worker_alive
from tests.support.studio_process import StudioProcess

ROW = {"conversations": [{"from": "human", "value": "what colour is the sky?"}, {"from": "gpt", "value": "blue"}]}


def job_view(client, job_id: str) -> dict:
    return json.loads(client.predict(job_id, api_name="/training_job"))


def losses(view: dict) -> list[int]:
    return [m["step"] for m in view["metrics"] if m.get("loss") is not None]


def test_killing_the_studio_keeps_the_job_and_its_loss_history(tmp_path, tiny_qwen3_own_tokenizer):
    from gradio_client import Client

    data = tmp_path / "data"
    shutil.copytree(tiny_qwen3_own_tokenizer, data / "models" / "tiny-own")
    rows = tmp_path / "sky.jsonl"
    rows.write_text("\n".join(json.dumps(ROW) for _ in range(20)) + "\n")
    sha = DatasetStore(data / "datasets", 1 << 30).add(rows).sha256
    config = TrainingConfig(base_model="tiny-own", adapter_name="survivor", dataset=sha, max_steps=200,
                            batch_size=2, max_length=64, logging_steps=2, save_steps=50, lora_rank=4, cpu_threads=1)

    first = StudioProcess(data, args=["--no-weaviate"]).start()
    try:
        client = Client(first.url, verbose=False)
        job_id = client.predict(config.to_yaml(), "ask", api_name="/training_start")
        deadline = time.monotonic() + 120
        while len(losses(job_view(client, job_id))) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        before = losses(job_view(client, job_id))
        assert len(before) >= 2, first.log_tail()
    finally:
        first.kill()  # no clean-up runs, as in a crash

    store = Store(data / "lorag.sqlite")
    pid = store.one("SELECT pid FROM jobs WHERE id = ?", (job_id,))["pid"]
    status = store.one("SELECT status FROM jobs WHERE id = ?", (job_id,))["status"]
    assert worker_alive(pid, job_id) or status == "completed", "the worker died with the studio"

    second = StudioProcess(data, args=["--no-weaviate"]).start()
    try:
        client = Client(second.url, verbose=False)
        view = job_view(client, job_id)
        assert view["job"]["status"] in ("running", "completed"), view["job"]["message"]
        after = losses(view)
        assert after[: len(before)] == before and len(after) >= len(before)
        deadline = time.monotonic() + 300
        while view["job"]["status"] == "running" and time.monotonic() < deadline:
            time.sleep(1)
            view = job_view(client, job_id)
        assert view["job"]["status"] == "completed", view["log_tail"]
        assert losses(view)[-1] == 200
        assert (data / "adapters" / "survivor" / "lorag.json").exists()
    finally:
        second.stop()
