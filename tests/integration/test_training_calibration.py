"""How long will it take? A calibration runs a few real steps in a worker on a tiny model, fills the cache, and the
second estimate with the same speed settings reads the cache; a real run then keeps estimate and real time in
lorag.json and says both when it ends."""

from __future__ import annotations

import json

from engine.training.config import TrainingConfig
from engine.training.runner import CALIBRATION_KIND
from tests.integration.test_training_jobs import dataset, training_studio


def settings(model, sha: str, **changes) -> TrainingConfig:
    return TrainingConfig(base_model=str(model), adapter_name="timed", dataset=sha, max_steps=6, batch_size=2,
                          max_length=64, lora_rank=4, cpu_threads=1, save_steps=1000, device="cpu").merged(changes)


def test_a_calibration_measures_steps_and_is_reused_from_the_cache(tmp_path, tiny_qwen3_own_tokenizer):
    studio = next(gen := training_studio(tmp_path))
    estimator = studio.training.estimator
    config = settings(tiny_qwen3_own_tokenizer, dataset(studio, tmp_path, 40))

    first = estimator.estimate(config)
    assert first.job_id and first.duration_s is None  # nothing cached: a calibration job measures it
    assert first.tokens.steps == 6 and first.tokens.rows == 40 and first.tokens.run_tokens > 0
    assert [f.mode for f in first.fit] == ["LoRA (fp32 base)", "QLoRA (4-bit base)"] and first.fit[0].fits
    job = studio.training.runner.wait(first.job_id, 300)
    assert job.status == "completed", (job.message, studio.jobs.log_tail(job.id))
    measured = job.result["calibration"]
    assert measured["steps"] == 4 and measured["s_per_step"] > 0 and measured["s_per_padded_token"] > 0
    assert measured["startup_s"] > 0 and measured["padded_tokens_per_step"] > 0
    assert not (studio.jobs.folder(job.id) / "checkpoints").exists()  # the timed save is not kept

    fresh = estimator.estimate(config, calibrated_by=job.id)
    assert fresh.source == "calibration" and fresh.duration_s > 0 and not fresh.job_id
    again = estimator.estimate(config.merged({"learning_rate": 1e-3, "adapter_name": "other"}))
    assert again.source == "cache" and again.duration_s == fresh.duration_s and not again.job_id
    assert len(studio.jobs.list(CALIBRATION_KIND)) == 1  # no second calibration
    assert "from the cache" in again.summary() and "Estimated duration" in again.summary()
    other = estimator.estimate(config.merged({"batch_size": 4}), calibrate=False)
    assert other.duration_s is None and not other.job_id  # another speed setting is not the cached one

    run = studio.training.wait(studio.training.start(config).id, 300)
    assert run.status == "completed", run.message
    timing = json.loads((studio.data_dir / "adapters" / "timed" / "lorag.json").read_text())["metrics"]["timing"]
    assert timing["estimate_s"] == round(fresh.duration_s, 1) and timing["real_s"] > 0
    assert abs(timing["real_over_estimate"] - timing["real_s"] / timing["estimate_s"]) < 0.01
    assert timing["estimate_source"] == "cache"
    assert "estimated" in run.message and "real/estimate" in run.message
    next(gen, None)
