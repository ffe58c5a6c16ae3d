"""The studio's side of "How long will it take?": count the tokens, check the memory, look the speed up in the cache
or start a calibration job (a worker process, like a training run: progress, cancel) that fills it."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from engine.errors import LoragError
from engine.jobs import Job
from engine.training.config import TrainingConfig
from engine.training.estimate import (
    CALIBRATION_STEPS,
    ESTIMATES,
    Estimate,
    EstimateCache,
    FitLine,
    fit_lines,
    from_cache,
    key_digest,
)
from engine.training.jobfiles import JobSpec
from engine.training.launch import check_processes, processes_text
from engine.training.prepare import Prepared, prepare
from engine.training.runner import CALIBRATION_KIND


class TrainingParts(Protocol):
    """What the estimate uses of engine.training.service.TrainingService (named here without importing it)."""

    data_dir: Path
    datasets: Any
    jobs: Any
    runner: Any

    def resolve_base(self, choice: str) -> Any: ...
    def tokenizer(self, source: str) -> Any: ...
    def device_check(self, config: TrainingConfig) -> Any: ...
    def lora_plan(self, config: TrainingConfig) -> Any: ...


class Estimator:
    def __init__(self, service: TrainingParts) -> None:
        self.service = service
        self.cache = EstimateCache(service.data_dir / ESTIMATES)

    def estimate(self, config: TrainingConfig, calibrate: bool = True, calibrated_by: str = "") -> Estimate:
        """Tokens, memory fit and duration; without a cached speed, start a calibration (its id in `job_id`).
        `calibrated_by`: the calibration job the person just waited for (the estimate then says 'just now')."""
        base, prepared = self._prepared(config)
        check = self.service.device_check(config)
        check_processes(config, check.device)
        estimate, key = from_cache(self.cache, base.source, check.device, config, prepared)
        estimate.fit = self._fit(config, check.device)
        estimate.processes_note = processes_text(config, check.device)
        entry = self.cache.get(key)
        if entry and calibrated_by and entry.get("job_id") == calibrated_by:
            estimate.source = "calibration"
        if estimate.duration_s is None and calibrate:
            if check.conflict:
                raise LoragError(f"Calibrating needs the GPU, but {check.message[0].lower()}{check.message[1:]}",
                                 hint="Unload the chat model, or set the device to cpu to estimate a CPU run.",
                                 key="training.calibration_gpu_busy", hint_key="training.calibration_gpu_busy_hint",
                                 params={"chat": check.chat_device})
            estimate.job_id = self._calibration_job(config, base, check.device, key).id
        return estimate

    def _prepared(self, config: TrainingConfig) -> tuple[Any, Prepared]:
        config.validate()
        if not config.dataset:
            raise LoragError("Upload a dataset (or pick an earlier upload) first.", key="training.no_dataset")
        base = self.service.resolve_base(config.base_model)
        return base, prepare(config, self.service.datasets, self.service.tokenizer(base.source))

    def _fit(self, config: TrainingConfig, device: str) -> list[FitLine]:
        from engine.models.fit import kv_bytes_per_1k
        from engine.models.memory import available_memory
        from engine.training.trainer import base_config

        base = base_config(self.service.resolve_base(config.base_model).source)
        plan = self.service.lora_plan(config)
        text = base.get_text_config() if hasattr(base, "get_text_config") else base
        return fit_lines(plan.total, plan.trainable, kv_bytes_per_1k(text), device, available_memory(device),
                         config.processes, config.distributed)

    def _calibration_job(self, config: TrainingConfig, base: Any, device: str, key: dict[str, Any]) -> Job:
        digest = key_digest(key)
        jobs = self.service.jobs
        for job in jobs.list(CALIBRATION_KIND, 20):
            if self.service.runner.check(job).active and job.config.get("estimate_key") == digest:
                return job  # the same calibration is running already: wait for that one
        job = jobs.create(CALIBRATION_KIND, f"calibration of {config.batch_size}x{config.max_length} on "
                                            f"{base.label} ({device})", {**config.to_dict(), "estimate_key": digest})
        spec = JobSpec(job_id=job.id, data_dir=str(self.service.data_dir.resolve()), base_source=base.source,
                       base_label=base.label, device=device, config=config.to_dict(),
                       calibration={"steps": CALIBRATION_STEPS, "key": key})
        files = self.service.runner.files(job.id)
        files.write_json(files.config, asdict(spec))
        self.service.runner.spawn(job.id)
        return jobs.get(job.id)

    def job(self, job_id: str) -> Job:
        job = self.service.jobs.get(job_id)
        if job.kind != CALIBRATION_KIND:
            raise LoragError(f"{job_id} is not a calibration job.",
                             key="training.not_calibration_job", params={"job_id": job_id})
        return self.service.runner.check(job)

    def cancel(self, job_id: str) -> Job:
        job = self.job(job_id)
        if job.active:
            self.service.runner.cancel(job)
        return self.service.jobs.get(job_id)
