"""GPU arbitration: a chat model on the GPU is never fought over silently."""

from __future__ import annotations

import json
import time

import pytest

from engine.settings import Settings
from engine.studio import Studio
from engine.training import service as service_module
from engine.training.config import TrainingConfig
from engine.training.service import GpuBusy


class ChatModels:
    """Stands in for the chat area's ModelService (not on this branch): a model that sits on cuda:0."""

    class Current:
        device = "cuda:0"

    def __init__(self) -> None:
        self.current = self.Current()

    def unload(self) -> None:
        self.current = None


@pytest.fixture
def busy_studio(tmp_path, monkeypatch, tiny_qwen3_own_tokenizer):
    monkeypatch.setattr(service_module, "gpu_present", lambda: True)
    monkeypatch.setattr(service_module, "GPU_POLL_S", 0.05)
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    studio.__dict__["models"] = ChatModels()
    spawned: list[str] = []
    monkeypatch.setattr(studio.training.runner, "spawn", lambda job_id, resume=False: spawned.append(job_id))
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"text": "hello"}) + "\n")
    sha = studio.training.upload(rows)[0].sha256
    config = TrainingConfig(base_model=str(tiny_qwen3_own_tokenizer), adapter_name="a", dataset=sha, max_steps=1)
    return studio, config, spawned


def test_ask_says_who_holds_the_gpu(busy_studio):
    studio, config, spawned = busy_studio
    check = studio.training.device_check(config)
    assert check.conflict and check.device == "cuda" and "cuda:0" in check.message
    with pytest.raises(GpuBusy, match="chat model is loaded on the GPU"):
        studio.training.start(config)
    assert studio.jobs.list("training") == [] and spawned == []


def test_unload_frees_the_gpu_then_starts(busy_studio):
    studio, config, spawned = busy_studio
    job = studio.training.start(config, on_busy="unload")
    assert studio.chat_model_device() is None and spawned == [job.id]
    assert json.loads(studio.jobs.folder(job.id).joinpath("config.json").read_text())["device"] == "cuda"


def test_wait_queues_until_the_chat_model_is_unloaded(busy_studio):
    studio, config, spawned = busy_studio
    job = studio.training.start(config, on_busy="wait")
    assert job.status == "queued" and "Waiting for the GPU" in job.message
    time.sleep(0.3)
    assert spawned == []
    studio.models.unload()
    deadline = time.monotonic() + 5
    while not spawned and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spawned == [job.id]


def test_cpu_instead_and_cpu_only_machines(busy_studio, monkeypatch):
    studio, config, spawned = busy_studio
    job = studio.training.start(config, on_busy="cpu")
    assert json.loads(studio.jobs.folder(job.id).joinpath("config.json").read_text())["device"] == "cpu"
    monkeypatch.setattr(service_module, "gpu_present", lambda: False)
    check = studio.training.device_check(config.merged({"adapter_name": "b"}))
    assert check.device == "cpu" and not check.conflict and "ETA" in check.message
