"""Training jobs in real worker processes: cancel saves a checkpoint and leaves no process behind, resume reaches
the same final step; a killed worker is reported with its last log lines and a hint."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from engine.settings import Settings
from engine.studio import Studio
from engine.training.config import TrainingConfig
from engine.training.jobfiles import JobFiles
from engine.training.runner import worker_alive

ROW = {"messages": [{"role": "user", "content": "what is two plus two?"}, {"role": "assistant", "content": "four"}]}


@pytest.fixture
def studio(tmp_path):
    yield from training_studio(tmp_path)


def training_studio(tmp_path: Path):
    """A studio without Weaviate whose training jobs are cancelled (workers ended) when the test is done."""
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    yield studio
    for job in studio.jobs.list("training"):
        if job.active:
            studio.training.cancel(job.id)
            studio.training.wait(job.id, 60)
    studio.close()


def dataset(studio: Studio, tmp_path: Path, rows: int) -> str:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(ROW) for _ in range(rows)) + "\n")
    stored, _ = studio.training.upload(path)
    return stored.sha256


def wait_for_step(files: JobFiles, step: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(m.get("step", 0) >= step and m.get("loss") is not None for m in files.read_metrics()):
            return
        time.sleep(0.1)
    raise AssertionError(f"no step {step} within {timeout} s:\n{files.log.read_text()[-2000:]}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_cancel_then_resume_reaches_the_same_final_step(studio, tmp_path, tiny_qwen3_own_tokenizer):
    config = TrainingConfig(base_model=str(tiny_qwen3_own_tokenizer), adapter_name="resumed",
                            dataset=dataset(studio, tmp_path, 80), epochs=2, batch_size=2, max_length=64,
                            logging_steps=1, save_steps=1000, lora_rank=4, cpu_threads=1, learning_rate=1e-3)
    job = studio.training.start(config)
    files = JobFiles(studio.jobs.folder(job.id))
    wait_for_step(files, 3)
    pid = studio.jobs.get(job.id).pid
    studio.training.cancel(job.id)
    job = studio.training.wait(job.id, 120)
    assert job.status == "cancelled", job.message
    stopped = job.result["global_step"]
    assert 3 <= stopped < 80 and job.result["max_steps"] == 80
    assert files.last_checkpoint() is not None and files.last_checkpoint().name == f"checkpoint-{stopped}"
    assert "Resume continues" in job.message
    deadline = time.monotonic() + 30  # the row is final; the interpreter may take a moment to exit
    while (worker_alive(pid, job.id) or group_alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker_alive(pid, job.id) and not group_alive(pid), "the worker or its children outlived cancel"
    assert not (studio.settings.path("adapters") / "resumed").exists()
    view = studio.training.view(job.id)
    assert view.can_resume and not view.can_cancel

    studio.training.resume(job.id)
    job = studio.training.wait(job.id, 300)
    assert job.status == "completed", job.message + files.log.read_text()[-2000:]
    assert job.result["global_step"] == 80 == job.result["max_steps"]
    steps = [m["step"] for m in files.read_metrics() if m.get("loss") is not None]
    assert steps[-1] == 80 and min(s for s in steps if s > stopped) == stopped + 1
    assert (studio.settings.path("adapters") / "resumed" / "adapter_model.safetensors").exists()
    assert "resuming from checkpoint" in files.log.read_text()


def test_a_killed_worker_is_marked_with_its_log_and_a_hint(studio, tmp_path, tiny_qwen3_own_tokenizer):
    config = TrainingConfig(base_model=str(tiny_qwen3_own_tokenizer), adapter_name="killed",
                            dataset=dataset(studio, tmp_path, 40), max_steps=400, batch_size=2, max_length=64,
                            logging_steps=1, save_steps=2, lora_rank=4, cpu_threads=1)
    job = studio.training.start(config)
    files = JobFiles(studio.jobs.folder(job.id))
    wait_for_step(files, 3)
    os.kill(studio.jobs.get(job.id).pid, signal.SIGKILL)  # what the kernel's OOM killer does
    job = studio.training.wait(job.id, 30)
    assert job.status == "interrupted", job.message
    assert "killed by signal 9" in job.message and "smaller batch size" in job.message
    assert "4-bit" in job.message and "Resume continues from checkpoint-" in job.message
    assert "step" in job.result["log_tail"]
    assert studio.training.view(job.id).can_resume


def test_start_refuses_what_cannot_work(studio, tmp_path, tiny_qwen3_own_tokenizer):
    from engine.errors import LoragError

    sha = dataset(studio, tmp_path, 4)
    base = dict(base_model=str(tiny_qwen3_own_tokenizer), dataset=sha, max_steps=1)
    with pytest.raises(LoragError, match="adapter name"):
        studio.training.start(TrainingConfig(adapter_name="../x", **base))
    (studio.settings.path("adapters") / "taken").mkdir()
    with pytest.raises(LoragError, match="already exists"):
        studio.training.start(TrainingConfig(adapter_name="taken", **base))
    with pytest.raises(LoragError, match="Cannot find the model"):
        studio.training.start(TrainingConfig(adapter_name="a", **{**base, "base_model": "nobody/none-such"}))
    bert = tmp_path / "bert"
    bert.mkdir()
    (bert / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(LoragError, match="not a causal language model"):
        studio.training.start(TrainingConfig(adapter_name="a", **{**base, "base_model": str(bert)}))
    assert studio.jobs.list("training") == []
