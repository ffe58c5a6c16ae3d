"""GPU arbitration: a chat model on the GPU is never fought over silently."""

from __future__ import annotations

import json
import time

import pytest

from engine.jobs import Jobs
from engine.models.service import ModelService
from engine.store import Store
from engine.training import service as service_module
from engine.training.config import TrainingConfig
from engine.training.service import GpuBusy, TrainingService


class ChatOnGpu:
    """The chat model's side of engine.training.service.ChatGpu, holding cuda:0 (no GPU on the test machines)."""

    def __init__(self) -> None:
        self.where: str | None = "cuda:0"

    def device(self) -> str | None:
        return self.where

    def release(self) -> None:
        self.where = None


@pytest.fixture
def busy(tmp_path, monkeypatch, tiny_qwen3_own_tokenizer):
    """A TrainingService built from its parts alone (no Studio) while the chat model holds the GPU."""
    monkeypatch.setattr(service_module, "gpu_present", lambda: True)
    monkeypatch.setattr(service_module, "GPU_POLL_S", 0.05)
    store = Store(tmp_path / "lorag.sqlite")
    chat = ChatOnGpu()
    training = TrainingService(tmp_path / "data", Jobs(store, tmp_path / "data" / "jobs"), chat, 2**20)
    spawned: list[str] = []
    monkeypatch.setattr(training.runner, "spawn", lambda job_id, resume=False: spawned.append(job_id))
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"text": "hello"}) + "\n")
    sha = training.upload(rows)[0].sha256
    config = TrainingConfig(base_model=str(tiny_qwen3_own_tokenizer), adapter_name="a", dataset=sha, max_steps=1)
    yield training, chat, config, spawned
    store.close()


def test_the_model_service_is_a_chat_gpu(tmp_path):
    models = ModelService(tmp_path / "models", tmp_path / "adapters")
    assert models.device() is None
    models.release()                      # nothing loaded: nothing to free, no error
    assert models.current is None


def test_ask_says_who_holds_the_gpu(busy):
    training, chat, config, spawned = busy
    check = training.device_check(config)
    assert check.conflict and check.device == "cuda" and "cuda:0" in check.message
    with pytest.raises(GpuBusy, match="chat model is loaded on the GPU"):
        training.start(config)
    assert training.jobs.list("training") == [] and spawned == []


def test_unload_frees_the_gpu_then_starts(busy):
    training, chat, config, spawned = busy
    job = training.start(config, on_busy="unload")
    assert chat.device() is None and spawned == [job.id]
    assert json.loads(training.jobs.folder(job.id).joinpath("config.json").read_text())["device"] == "cuda"


def test_wait_queues_until_the_chat_model_is_unloaded(busy):
    training, chat, config, spawned = busy
    job = training.start(config, on_busy="wait")
    assert job.status == "queued" and "Waiting for the GPU" in job.message
    time.sleep(0.3)
    assert spawned == []
    chat.release()
    deadline = time.monotonic() + 5
    while not spawned and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spawned == [job.id]


def test_cpu_instead_and_cpu_only_machines(busy, monkeypatch):
    training, chat, config, spawned = busy
    job = training.start(config, on_busy="cpu")
    assert json.loads(training.jobs.folder(job.id).joinpath("config.json").read_text())["device"] == "cpu"
    monkeypatch.setattr(service_module, "gpu_present", lambda: False)
    check = training.device_check(config.merged({"adapter_name": "b"}))
    assert check.device == "cpu" and not check.conflict and "ETA" in check.message
