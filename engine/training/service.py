"""TrainingService: what the Training tab (and scripts) call. Datasets, preview, recipes, and training jobs that
run in worker processes. Lives in the studio process; never loads a model (only tokenizers, for the preview)."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.errors import LoragError, Phrase
from engine.imports import import_heavy
from engine.jobs import Job, Jobs
from engine.presets import PRESETS_DIR
from engine.safety import ADAPTER_NAME, validate_name
from engine.training.base_models import ResolvedBase, base_choices, resolve_base
from engine.training.config import TrainingConfig
from engine.training.datasets import DatasetReport, DatasetStore, StoredDataset
from engine.training.encoding import Encoder
from engine.training.estimator import Estimator
from engine.training.jobfiles import JobSpec, format_eta
from engine.training.launch import check_processes
from engine.training.prepare import check_method
from engine.training.preview import Analysis, analyze
from engine.training.recipes import Recipes
from engine.training.runner import CALIBRATION_KIND, KIND, WorkerRunner
from engine.training.targets import LoraPlan, lora_plan

log = logging.getLogger(__name__)

DEFAULT_RECIPE = "balanced"
GPU_POLL_S = 2.0
ON_BUSY = ("ask", "unload", "wait", "cpu")


EXAMPLES_DIR = PRESETS_DIR / "datasets"   # example training files a person can pick without uploading

class ChatGpu(Protocol):
    """The chat model's hold on the GPU, as training sees it (engine.models.service.ModelService is one)."""

    def device(self) -> str | None:
        """Where the chat model is ('cuda:0', 'cpu'...), None when none is loaded."""

    def release(self) -> None:
        """Unload the chat model, freeing its GPU memory."""


# The catalogues' "error.training.gpu_busy" says this in each language.
GPU_BUSY = ("The chat model is loaded on the GPU ({chat}). Training there too would fight it for memory. Unload the "
            "chat model, wait until it is unloaded, or train on the CPU.")


class GpuBusy(LoragError):
    """The chat model holds the GPU: the person chooses to unload it, wait, or train on the CPU."""


@dataclass
class DeviceCheck:
    device: str                      # cuda | cpu: where the job will train
    chat_device: str | None          # where the chat model is, if loaded
    conflict: bool
    message: str


@dataclass
class JobView:
    """Everything the Training tab shows about one job."""

    job: Job
    adapter_name: str
    base: str
    state: dict[str, Any]
    metrics: list[dict[str, Any]]
    log_tail: str
    eta: str
    tokens_per_s: float | None
    can_cancel: bool
    can_resume: bool
    checkpoint: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def loss_points(self) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        train = [(m["step"], m["loss"]) for m in self.metrics if m.get("loss") is not None]
        evals = [(m["step"], m["eval_loss"]) for m in self.metrics if m.get("eval_loss") is not None]
        return train, evals

    def margin_points(self) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """Preference runs: the reward margin (chosen minus rejected) of train and eval logs."""
        train = [(m["step"], m["rewards/margins"]) for m in self.metrics if m.get("rewards/margins") is not None]
        evals = [(m["step"], m["eval_rewards/margins"]) for m in self.metrics
                 if m.get("eval_rewards/margins") is not None]
        return train, evals

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["job"] = asdict(self.job)
        return data


def gpu_present() -> bool:
    """A cheap look for an NVIDIA GPU that does not import torch into the studio process."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    gpus = Path("/proc/driver/nvidia/gpus")
    return Path("/dev/nvidia0").exists() or (gpus.is_dir() and any(gpus.iterdir()))


class TrainingService:
    def __init__(self, data_dir: Path, jobs: Jobs, gpu: ChatGpu, max_upload_bytes: int) -> None:
        """`data_dir`: the studio's data folder (datasets/, adapters/, models/, recipes/training/ inside it; the
        workers get it too); `gpu`: the chat model, asked before a job takes the GPU."""
        self.data_dir = Path(data_dir)
        self.jobs = jobs
        self.gpu = gpu
        self.datasets = DatasetStore(self.data_dir / "datasets", max_upload_bytes)
        self.recipes = Recipes(self.data_dir / "recipes" / "training")
        self.runner = WorkerRunner(self.jobs)
        self._tokenizers: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.reattach()
        self.estimator = Estimator(self)   # tokens, memory and duration before Start

    # --- datasets --------------------------------------------------------------------------------------------
    def upload(self, path: Path, filename: str | None = None) -> tuple[StoredDataset, DatasetReport]:
        stored = self.datasets.add(Path(path), filename)
        return stored, self.datasets.load(stored.sha256).report

    def upload_files(self, paths: list[Path]) -> tuple[StoredDataset | None, str]:
        """Data files and LLaMA-Factory dataset_info.json files together: the last data file, and what was read."""
        stored, notes = self.datasets.add_files([Path(p) for p in paths])
        report = self.datasets.load(stored.sha256).report.summary() if stored else ""
        return stored, "\n\n".join([*notes, report]).strip()

    def stored_datasets(self) -> list[StoredDataset]:
        return self.datasets.list()

    def example_datasets(self) -> list[StoredDataset]:
        """The example datasets shipped in presets/datasets (English and Russian rows), stored like uploads so a
        job can train on them (storing is by content: listing them again adds nothing)."""
        return [self.datasets.add(path) for path in sorted(EXAMPLES_DIR.glob("*.jsonl"))]

    def inspect(self, sha256: str, placeholders: dict[str, str] | None = None) -> DatasetReport:
        return self.datasets.load(sha256, placeholders).report

    # --- base models and preview -------------------------------------------------------------------------------
    def base_choices(self) -> list[tuple[str, str]]:
        return base_choices(self.data_dir / "models")

    def resolve_base(self, choice: str) -> ResolvedBase:
        return resolve_base(choice, self.data_dir / "models")

    def tokenizer(self, source: str):
        with self._lock:
            if source not in self._tokenizers:
                import_heavy()  # a first transformers import racing another thread's fails
                from transformers import AutoTokenizer

                try:
                    self._tokenizers[source] = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
                except (OSError, ValueError) as exc:
                    raise LoragError(f"The tokenizer of {source} cannot be loaded: {exc}",
                                     key="training.tokenizer_failed", params={"source": source, "exc": exc}) from None
            return self._tokenizers[source]

    def analyze(self, sha256: str, base_choice: str, max_length: int = 1024, assistant_only: bool = True,
                placeholders: dict[str, str] | None = None, preview_rows: int = 3) -> tuple[DatasetReport, Analysis]:
        """The file report plus rows rendered through the base's own template, trained tokens marked, and stats."""
        loaded = self.datasets.load(sha256, placeholders)
        base = self.resolve_base(base_choice)
        encoder = Encoder(self.tokenizer(base.source), assistant_only)
        for kind in {e.kind for e in loaded.examples}:
            encoder.check_format(kind)
        return loaded.report, analyze(loaded.examples, encoder, max_length, preview_rows)

    def lora_plan(self, config: TrainingConfig) -> LoraPlan:
        """Which modules of the chosen base get LoRA, how many parameters train, and the memory (no weights read)."""
        from engine.training.trainer import base_config

        base = self.resolve_base(config.base_model)
        return lora_plan(base_config(base.source), config)

    # --- recipes and config ------------------------------------------------------------------------------------
    def default_config(self, recipe: str = DEFAULT_RECIPE) -> TrainingConfig:
        return self.recipes.apply(TrainingConfig(), recipe)

    def check_config(self, config: TrainingConfig) -> ResolvedBase:
        """Everything that can be refused before a worker starts, with a message for the person."""
        config.validate()
        validate_name(config.adapter_name, ADAPTER_NAME)
        if (self.data_dir / "adapters" / config.adapter_name).exists():
            raise LoragError(f"An adapter named {config.adapter_name!r} already exists.",
                             hint="Pick another name (adapters are never overwritten).", key="training.adapter_exists",
                             hint_key="training.adapter_exists_hint", params={"name": repr(config.adapter_name)})
        for job in self.jobs.list(KIND):
            if job.active and job.config.get("adapter_name") == config.adapter_name:
                raise LoragError(f"Job {job.id} is already training an adapter named {config.adapter_name!r}.",
                                 key="training.adapter_in_training",
                                 params={"job": job.id, "adapter_name": config.adapter_name})
        if not config.dataset:
            raise LoragError("Upload a dataset (or pick an earlier upload) first.", key="training.no_dataset")
        report = self.datasets.load(config.dataset, config.placeholders).report
        check_method(config.method, report)
        if report.error_count and not config.drop_bad_rows:
            first = "; ".join(str(e) for e in report.errors[:3])
            raise LoragError(f"{report.error_count} row(s) of {report.filename} have problems ({first}).",
                             hint="Fix the file, or tick 'Drop bad rows' to train without them.",
                             key="training.bad_rows", hint_key="training.bad_rows_hint",
                             params={"count": report.error_count, "name": report.filename, "first": first})
        if not report.valid:
            raise LoragError(f"{report.filename} has no usable rows.", key="training.no_rows",
                             params={"name": report.filename})
        return self.resolve_base(config.base_model)

    # --- GPU arbitration ---------------------------------------------------------------------------------------
    def device_check(self, config: TrainingConfig) -> DeviceCheck:
        wanted = config.device if config.device != "auto" else ("cuda" if gpu_present() else "cpu")
        if wanted == "cuda" and not gpu_present():
            raise LoragError("No GPU is visible to the studio: set device to auto or cpu.", key="training.no_gpu")
        chat = self.gpu.device()
        if wanted == "cpu":
            note = Phrase("No GPU here: training runs on the CPU (slow for big models; the ETA is measured as it "
                          "runs).", "training.device.cpu_only") if not gpu_present() else \
                Phrase("Training on the CPU as asked.", "training.device.cpu_asked")
            return DeviceCheck("cpu", chat, False, note)
        if chat and chat.startswith("cuda"):
            return DeviceCheck("cuda", chat, True, GPU_BUSY.format(chat=chat))
        return DeviceCheck("cuda", chat, False, Phrase("Training on the GPU.", "training.device.gpu"))

    # --- jobs ----------------------------------------------------------------------------------------------------
    def start(self, config: TrainingConfig, on_busy: str = "ask") -> Job:
        """Create a training job and start its worker (or queue it until the GPU is free)."""
        if on_busy not in ON_BUSY:
            raise ValueError(on_busy)
        base = self.check_config(config)
        check = self.device_check(config)
        device = check.device
        if check.conflict:
            if on_busy == "ask":
                raise GpuBusy(check.message, key="training.gpu_busy", params={"chat": check.chat_device})
            if on_busy == "unload":
                self.gpu.release()
            elif on_busy == "cpu":
                device = "cpu"
        check_processes(config, device)
        job = self.jobs.create(KIND, f"{config.adapter_name} on {base.label}", config.to_dict())
        spec = JobSpec(job_id=job.id, data_dir=str(self.data_dir.resolve()), base_source=base.source,
                       base_label=base.label, device=device, config=config.to_dict())
        files = self.runner.files(job.id)
        files.write_json(files.config, asdict(spec))
        self.jobs.append_log(job.id, f"Job {job.id}: {check.message}")
        if check.conflict and on_busy == "wait":
            self.jobs.update(job.id, message=f"Waiting for the GPU: the chat model holds it ({check.chat_device}). "
                                             "It starts when the chat model is unloaded.")
            self._wait_for_gpu(job.id)
        else:
            self.runner.spawn(job.id)
        return self.jobs.get(job.id)

    def _wait_for_gpu(self, job_id: str) -> None:
        def wait() -> None:
            while True:
                job = self.jobs.get(job_id)
                if job.status != "queued":
                    return
                chat = self.gpu.device()
                if not (chat and chat.startswith("cuda")):
                    self.jobs.append_log(job_id, "The GPU is free: starting.")
                    self.runner.spawn(job_id)
                    return
                time.sleep(GPU_POLL_S)

        threading.Thread(target=wait, daemon=True, name=f"gpu-wait-{job_id}").start()

    def cancel(self, job_id: str) -> Job:
        job = self._training_job(job_id)
        if job.status == "queued":
            self.jobs.finish(job_id, "cancelled", "Cancelled before it started.")
        elif job.active:
            self.runner.cancel(job)
        return self.jobs.get(job_id)

    def resume(self, job_id: str) -> Job:
        job = self.runner.check(self._training_job(job_id))
        if job.active:
            raise LoragError("This job is still running.", key="training.job_running")
        if job.status == "completed":
            raise LoragError("This job has completed; start a new one to train further.", key="training.job_done")
        files = self.runner.files(job_id)
        checkpoint = files.last_checkpoint()
        if checkpoint is None:
            raise LoragError("This job saved no checkpoint, so it cannot resume.", hint="Start it again instead.",
                             key="training.no_checkpoint", hint_key="training.no_checkpoint_hint")
        adapter = files.read_json(files.config).get("config", {}).get("adapter_name", "")
        if adapter and (self.data_dir / "adapters" / adapter).exists():
            raise LoragError(f"An adapter named {adapter!r} exists now; the resumed job would save under another "
                             "name.", hint="Rename or delete that adapter first.",
                             key="training.resume_name_taken", hint_key="training.resume_name_taken_hint",
                             params={"adapter": adapter})
        self.jobs.update(job_id, status="queued", finished_at=None, message=f"Resuming from {checkpoint.name}…")
        self.jobs.append_log(job_id, f"Resuming from {checkpoint.name}.")
        self.runner.spawn(job_id, resume=True)
        return self.jobs.get(job_id)

    def list_jobs(self, limit: int = 50) -> list[Job]:
        return [self.runner.check(job) for job in self.jobs.list(KIND, limit)]

    def job_views(self, limit: int = 50) -> list[JobView]:
        return [self.view(job.id, details=False) for job in self.jobs.list(KIND, limit)]

    def job(self, job_id: str) -> Job:
        return self.runner.check(self._training_job(job_id))

    def _training_job(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job.kind != KIND:
            raise LoragError(f"{job_id} is not a training job.",
                             key="training.not_training_job", params={"job_id": job_id})
        return job

    def view(self, job_id: str, log_lines: int = 30, details: bool = True) -> JobView:
        """The job as the tab shows it; details=False skips the metrics and the log (for the jobs table)."""
        job = self.job(job_id)
        files = self.runner.files(job_id)
        state = files.read_state()
        eta_s = state.get("eta_s")
        if job.status == "running" and eta_s is not None:
            eta_s -= time.time() - state.get("updated_at", time.time())
        eta = format_eta(eta_s) if job.status == "running" else "—"
        checkpoint = files.last_checkpoint()
        return JobView(job=job, adapter_name=job.config.get("adapter_name", ""),
                       base=str(job.config.get("base_model", "")), state=state,
                       metrics=files.read_metrics() if details else [],
                       log_tail=self.jobs.log_tail(job_id, log_lines) if details else "", eta=eta,
                       tokens_per_s=state.get("tokens_per_s"), can_cancel=job.active,
                       can_resume=job.status in ("cancelled", "failed", "interrupted") and checkpoint is not None,
                       checkpoint=checkpoint.name if checkpoint else "", result=job.result)

    def wait(self, job_id: str, timeout: float = 600.0) -> Job:
        return self.runner.wait(job_id, timeout)

    def reattach(self) -> None:
        """After a studio (re)start: mark workers that died meanwhile; restart GPU waits for queued jobs."""
        for job in self.jobs.list(CALIBRATION_KIND, 20):
            self.runner.check(job)
        for job in self.jobs.list(KIND, 200):
            if job.status == "queued" and not job.pid:
                self._wait_for_gpu(job.id)
            elif job.active:
                self.runner.check(job)

    def config_yaml(self, config: TrainingConfig) -> str:
        return config.to_yaml()
