"""Training on two processes: the studio starts the worker under `accelerate launch`, two CPU processes train one
adapter with DDP over gloo, and the run matches a one-process run of the same global batch step by step; a cancel
stops both processes at the same step with a checkpoint and leaves no process behind.

Why the losses can match closely: both runs start from the same LoRA weights (same seed; DDP also broadcasts rank
0's weights), LoRA dropout is 0 (each process would draw its own masks), and the rows come in the same order: the
trainer shuffles with the same seeded generator, and accelerate hands out the shuffled batches of `batch` rows in
turn (process 0 the even ones, process 1 the odd ones), which together are the one-process run's batches of
2 x `batch` rows. The loss is the mean over the trained tokens of all processes (transformers' token counts are
gathered over the processes), so each optimizer step sees the same gradient up to the order of float additions and
padding to a shorter length (per process): float32 rounding. Measured on the 2-core CI machine (2026-12-02): at most
7.8e-8 relative over the six steps (ddp 6.1965775 ... 6.1158419, one process 6.196578 ... 6.1158419). For contrast,
one process with half the global batch differed by up to 6.3e-3, and another seed (another order and LoRA init) by
3.3e-3. TOLERANCE (1e-5 relative per logged step) is over 100x what was measured and over 300x below those
mistakes. The trained LoRA weights are compared the same way (WEIGHT_TOLERANCE, of the largest weight).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from engine.training.config import TrainingConfig
from engine.training.jobfiles import JobFiles
from engine.training.runner import job_processes
from tests.integration.test_training_jobs import training_studio, wait_for_step

STEPS = 6
BATCH = 2           # rows per process per step
ACCUM = 2
TOLERANCE = 1e-5    # relative, per logged step (see above)
WEIGHT_TOLERANCE = 1e-5   # the largest difference of a LoRA weight, relative to the largest weight

WORDS = "the capital of france is paris and the sky is blue while two plus two is four".split()


@pytest.fixture
def studio(tmp_path):
    yield from training_studio(tmp_path)


def rows(n: int) -> list[dict]:
    """Rows of different lengths (so the batches are padded differently in the two runs)."""
    out = []
    for i in range(n):
        question = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 5))
        answer = " ".join(WORDS[(2 * i + k) % len(WORDS)] for k in range(2 + (i * 3) % 7))
        out.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
    return out


def upload(studio, tmp_path: Path, n: int) -> str:
    path = tmp_path / "varied.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows(n)) + "\n")
    stored, _ = studio.training.upload(path)
    return stored.sha256


def config(base: Path, sha: str, name: str, processes: int, batch: int, **changes) -> TrainingConfig:
    values = dict(base_model=str(base), adapter_name=name, dataset=sha, max_steps=STEPS, batch_size=batch,
                  grad_accum=ACCUM, processes=processes, device="cpu", max_length=64, logging_steps=1,
                  save_steps=1000, lora_rank=4, lora_dropout=0.0, learning_rate=1e-3, warmup_ratio=0.0,
                  lr_scheduler="constant", seed=7, cpu_threads=1)
    return TrainingConfig(**{**values, **changes})


def losses(files: JobFiles) -> dict[int, float]:
    points = [(m["step"], m["loss"]) for m in files.read_metrics() if m.get("loss") is not None]
    steps = [s for s, _ in points]
    assert len(steps) == len(set(steps)), f"a step was logged twice (a second process wrote metrics): {steps}"
    return dict(points)


def weight_drift(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    one, other = load_file(str(a)), load_file(str(b))
    assert one.keys() == other.keys() and one
    largest = max(float(t.abs().max()) for t in other.values())
    return max(float((one[k] - other[k]).abs().max()) for k in one) / largest


def test_two_cpu_processes_train_one_adapter_with_the_losses_of_one_process(studio, tmp_path,
                                                                             tiny_qwen3_own_tokenizer):
    sha = upload(studio, tmp_path, 24)
    timings = {}
    jobs = {}
    for name, processes, batch in (("ddp", 2, BATCH), ("single", 1, 2 * BATCH)):
        started = time.monotonic()
        job = studio.training.start(config(tiny_qwen3_own_tokenizer, sha, name, processes, batch))
        job = studio.training.wait(job.id, 240)
        timings[name] = round(time.monotonic() - started, 1)
        files = JobFiles(studio.jobs.folder(job.id))
        assert job.status == "completed", job.message + files.log.read_text()[-3000:]
        jobs[name] = (job, files)

    job, files = jobs["ddp"]
    log = files.log.read_text()
    assert "-m accelerate.commands.launch --num_processes 2 " in log and "--module engine.training.worker" in log
    assert "as rank 0 of 2" in log and "as rank 1 of 2" not in log
    assert "as rank 1 of 2" in (files.folder / "log.rank1.txt").read_text()
    assert job.result["global_step"] == STEPS == job.result["max_steps"]
    adapters = sorted(p.name for p in studio.settings.path("adapters").iterdir())
    assert adapters == ["ddp", "single"], adapters   # one adapter each: rank 1 wrote none (no "ddp-2")
    meta = json.loads((studio.settings.path("adapters") / "ddp" / "lorag.json").read_text())
    assert meta["params"]["processes"] == 2 and meta["params"]["batch_size"] == BATCH

    ddp, single = losses(jobs["ddp"][1]), losses(jobs["single"][1])
    assert sorted(ddp) == sorted(single) == list(range(1, STEPS + 1))
    diffs = {s: abs(ddp[s] - single[s]) / abs(single[s]) for s in single}
    report = (f"losses ddp {[round(ddp[s], 7) for s in sorted(ddp)]} single "
              f"{[round(single[s], 7) for s in sorted(single)]}; max relative difference "
              f"{max(diffs.values()):.2e}; seconds {timings}")
    print(report)
    assert max(diffs.values()) <= TOLERANCE, report
    assert single[STEPS] < single[1], "the loss should fall over the run: " + report
    drift = weight_drift(*(studio.settings.path("adapters") / name / "adapter_model.safetensors"
                           for name in ("ddp", "single")))
    print(f"LoRA weights: largest difference {drift:.2e} of the largest weight")
    assert drift <= WEIGHT_TOLERANCE, drift
    assert job_processes(job.id) == [], "a training process outlived its job"


def test_a_cancel_stops_both_processes_at_one_step_with_a_checkpoint(studio, tmp_path, tiny_qwen3_own_tokenizer):
    sha = upload(studio, tmp_path, 24)
    job = studio.training.start(config(tiny_qwen3_own_tokenizer, sha, "cancelled", 2, BATCH, max_steps=400))
    files = JobFiles(studio.jobs.folder(job.id))
    wait_for_step(files, 2, timeout=180)
    assert len(job_processes(job.id)) == 3   # the launcher and its two workers
    studio.training.cancel(job.id)
    job = studio.training.wait(job.id, 120)
    assert job.status == "cancelled", job.message + files.log.read_text()[-3000:]
    stopped = job.result["global_step"]
    assert 2 <= stopped < 400 and files.last_checkpoint().name == f"checkpoint-{stopped}"
    deadline = time.monotonic() + 30
    while job_processes(job.id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job_processes(job.id) == [], "a training process outlived the cancel"
    assert not (studio.settings.path("adapters") / "cancelled").exists()


def test_a_killed_launcher_leaves_no_worker_behind(studio, tmp_path, tiny_qwen3_own_tokenizer):
    """The out-of-memory killer taking the launcher: its workers (in sessions of their own) would train on as
    orphans; the studio finds them by their command line and ends them."""
    sha = upload(studio, tmp_path, 24)
    job = studio.training.start(config(tiny_qwen3_own_tokenizer, sha, "killed", 2, BATCH, max_steps=400))
    files = JobFiles(studio.jobs.folder(job.id))
    wait_for_step(files, 2, timeout=180)
    os.kill(studio.jobs.get(job.id).pid, signal.SIGKILL)
    job = studio.training.wait(job.id, 30)
    assert job.status in ("failed", "interrupted") and "killed by signal 9" in job.message, job.message
    deadline = time.monotonic() + 10
    while job_processes(job.id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job_processes(job.id) == [], "a worker outlived its launcher"
