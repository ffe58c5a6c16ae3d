"""How long will it take? Before Start: the tokens a run trains, whether LoRA / QLoRA fit in memory, and a duration
from a short calibration run on this machine (engine.training.calibration, in a worker like a real run).

A calibration measures start-up (process, model load, trainer set-up), seconds per padded token and per step, and a
checkpoint save. It is cached in data/estimates/ under a key of what changes the speed: the base, the hardware, and
the speed settings (batch, max length, LoRA rank and targets, quantization, checkpointing, precision, threads,
method, and the rows' typical length). Any dataset with the same key reuses it: the duration follows its own tokens.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.models.fit import GB, LORA_SHARE, OVERHEAD, training_bytes, weights_bytes
from engine.training.jobfiles import format_eta
from engine.training.plan import TokenPlan, evaluations, token_plan

CALIBRATION_STEPS = 4        # measured steps, after one warm-up step
ESTIMATES = "estimates"     # the cache folder in the data folder
EVAL_SHARE = 1 / 3           # an eval forward against a training forward + backward (per token)
SPEED_FIELDS = ("method", "batch_size", "grad_accum", "max_length", "packing", "lora_rank", "target_modules",
                "quantization", "cpu_threads")


def hardware(device: str) -> str:
    """The processor or GPU model, read from /proc (no torch): a cached speed holds for this hardware only."""
    if device == "cuda":
        names = [line.split(":", 1)[1].strip() for info in Path("/proc/driver/nvidia/gpus").glob("*/information")
                 for line in info.read_text().splitlines() if line.startswith("Model:")]
        return ", ".join(names) or "cuda"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 "cpu")
    return f"{model} ×{len(os.sched_getaffinity(0))}"


def _base_identity(source: str) -> str:
    """The base's source plus a hash of its config.json when local (another model in the same folder re-measures)."""
    config = Path(source) / "config.json"
    digest = hashlib.sha256(config.read_bytes()).hexdigest()[:16] if config.is_file() else ""
    return f"{source}#{digest}" if digest else source


def length_class(lengths: list[int]) -> int:
    """The rows' median length rounded to a power of two: attention cost per token grows with the length."""
    return 2 ** round(math.log2(max(1, statistics.median(lengths)))) if lengths else 0


def speed_key(base_source: str, device: str, config: Any, lengths: list[int]) -> dict[str, Any]:
    """What the speed of a run depends on (not the dataset itself, nor its size)."""
    checkpointing = config.gradient_checkpointing == "on" or (config.gradient_checkpointing == "auto"
                                                                and device == "cuda")
    return {"base": _base_identity(base_source), "device": device, "hardware": hardware(device),
            "precision": "fp32" if device == "cpu" else "bf16", "gradient_checkpointing": checkpointing,
            "length_class": length_class([min(n, config.max_length) for n in lengths]),
            **{name: getattr(config, name) for name in SPEED_FIELDS},
            # several processes run at another speed (one process keeps the keys calibrations were cached under)
            **({"processes": config.processes, "distributed": config.distributed}
               if getattr(config, "processes", 1) > 1 else {})}


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


class EstimateCache:
    """data/estimates/<digest>.json: {key, calibration, job_id, measured_at}."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, key: dict[str, Any]) -> Path:
        return self.folder / f"{key_digest(key)}.json"

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            entry = json.loads(self.path(key).read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return entry if entry.get("key") == key else None

    def put(self, key: dict[str, Any], calibration: dict[str, Any], job_id: str = "") -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"key": key, "calibration": calibration, "job_id": job_id,
                                   "measured_at": time.time()}, indent=1))
        os.replace(tmp, path)
        return path


@dataclass
class FitLine:
    mode: str                    # LoRA (fp32 base) | QLoRA (4-bit base)
    needed_bytes: int            # what ONE training process holds
    available_bytes: int         # free now: on one GPU (each process has its own), or the machine's RAM (shared)
    processes: int = 1
    device: str = "cpu"

    @property
    def total_bytes(self) -> int:
        """What the run needs of `available_bytes`: CPU processes share the RAM; each GPU process has a GPU."""
        return self.needed_bytes * self.processes if self.device == "cpu" else self.needed_bytes

    @property
    def fits(self) -> bool:
        return self.total_bytes <= self.available_bytes

    def text(self) -> str:
        mark = "fits" if self.fits else "does NOT fit"
        if self.processes <= 1:
            return f"{self.mode} ≈ {self.needed_bytes / GB:.1f} GB ({mark})"
        if self.device == "cpu":
            return (f"{self.mode} ≈ {self.needed_bytes / GB:.1f} GB per process × {self.processes} = "
                    f"{self.total_bytes / GB:.1f} GB of RAM ({mark})")
        return f"{self.mode} ≈ {self.needed_bytes / GB:.1f} GB on each of {self.processes} GPUs ({mark})"


def fit_lines(params: int, trainable: int, kv_bytes_per_1k: int, device: str, available: int, processes: int = 1,
              distributed: str = "ddp") -> list[FitLine]:
    """LoRA and QLoRA, each with what one process holds: DDP (and one process) the whole base, its LoRA weights with
    their gradients and AdamW states, and its own activations; FSDP a 1/n share of the base and of the LoRA states
    (a 4-bit base is not sharded: fsdp refuses quantization)."""
    precision = "fp32" if device == "cpu" else "bf16"
    lora = training_bytes(params, precision, kv_bytes_per_1k, trainable)
    if processes > 1 and distributed == "fsdp":
        sharded = weights_bytes(params, precision) * OVERHEAD + (trainable or int(params * LORA_SHARE)) * 16
        lora = int(lora - sharded + sharded / processes)
    lines = [FitLine(f"LoRA ({precision} base)", lora, available, processes, device),
             FitLine("QLoRA (4-bit base)", training_bytes(params, "4bit", kv_bytes_per_1k, trainable), available,
                     processes, device)]
    return lines[:1] if processes > 1 and distributed == "fsdp" else lines


def duration_parts(calibration: dict[str, Any], plan: TokenPlan, config: Any) -> dict[str, float]:
    """Seconds of each part of the run: start-up, training steps, evaluations, checkpoint and adapter saves."""
    per_token = calibration.get("s_per_padded_token")
    by_tokens = bool(per_token) and not plan.preference
    train = plan.padded_tokens * per_token if by_tokens else plan.steps * calibration["s_per_step"]
    evals = evaluations(config, plan.steps) if plan.eval_rows else 0
    eval_pass = plan.eval_padded_tokens * per_token if by_tokens else \
        math.ceil(plan.eval_rows / config.batch_size) * calibration["s_per_step"] / config.grad_accum
    saves = plan.steps // config.save_steps + 1  # the checkpoints, and the adapter at the end
    return {"startup_s": calibration["startup_s"], "train_s": train, "eval_s": evals * eval_pass * EVAL_SHARE,
            "save_s": saves * calibration.get("save_s", 0.0)}


@dataclass
class Estimate:
    tokens: TokenPlan
    fit: list[FitLine] = field(default_factory=list)
    device: str = "cpu"
    duration_s: float | None = None
    parts: dict[str, float] = field(default_factory=dict)
    source: str = ""             # calibration (measured just now) | cache | "" (being measured: job_id)
    measured_at: float | None = None
    job_id: str = ""             # the calibration job measuring it now
    processes_note: str = ""     # several processes: what each one holds and the global batch
    calibration: dict[str, Any] = field(default_factory=dict)   # what the calibration measured (see calibration.py)

    def record(self) -> dict[str, Any]:
        """What a job keeps of its estimate (lorag.json compares it with the real time)."""
        return {"duration_s": self.duration_s, "source": self.source, "measured_at": self.measured_at,
                "parts": self.parts, "steps": self.tokens.steps, "padded_tokens": self.tokens.padded_tokens}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"**Tokens:** {self.tokens.summary()}"]
        if self.fit:
            free = "on one GPU" if self.device == "cuda" and self.fit[0].processes > 1 else ""
            lines.append(f"**Memory on {self.device}:** " + "; ".join(f.text() for f in self.fit)
                         + f" — {self.fit[0].available_bytes / GB:.1f} GB free now{' ' + free if free else ''}.")
            if self.fit[0].processes > 1:
                lines.append(f"**Processes:** {self.processes_note}")
        if self.duration_s is None:
            lines.append("**Duration:** calibrating: a few real training steps on this machine…" if self.job_id
                         else "**Duration:** not measured yet.")
            return "\n\n".join(lines)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.measured_at or time.time()))
        origin = "calibrated just now" if self.source == "calibration" else f"from the cache (calibrated {when})"
        parts = " + ".join(f"{label} {format_eta(self.parts.get(name, 0))}" for name, label in (
            ("startup_s", "start and model load"), ("train_s", "training"), ("eval_s", "evaluation"),
            ("save_s", "saving")) if self.parts.get(name, 0) >= 0.5)
        lines.append(f"**Estimated duration:** ≈ {format_eta(self.duration_s)} ({parts}); {origin}.")
        return "\n\n".join(lines)


def train_lengths(prepared: Any) -> list[int]:
    return [len(r.input_ids) for r in prepared.train]


def from_cache(cache: EstimateCache, base_source: str, device: str, config: Any, prepared: Any,
               ) -> tuple[Estimate, dict[str, Any]]:
    """The estimate for `config` on `prepared` rows with a cached calibration (no duration when none), and its key."""
    estimate = Estimate(token_plan(config, prepared), device=device)
    key = speed_key(base_source, device, config, train_lengths(prepared))
    entry = cache.get(key)
    if entry:
        estimate.calibration = entry["calibration"]
        estimate.parts = duration_parts(entry["calibration"], estimate.tokens, config)
        estimate.duration_s = sum(estimate.parts.values())
        estimate.source, estimate.measured_at = "cache", entry.get("measured_at")
    return estimate, key


def timing(estimate: Estimate | None, real_s: float, resumed: bool = False) -> dict[str, Any]:
    """The estimate before the start beside the real duration (lorag.json keeps it)."""
    guess = estimate.duration_s if estimate else None
    comparable = bool(guess) and not resumed
    return {"estimate_s": round(guess, 1) if guess else None, "real_s": round(real_s, 1),
            "real_over_estimate": round(real_s / guess, 3) if comparable else None,
            "estimate_source": estimate.source if estimate else "", "resumed": resumed,
            "estimate_parts": {k: round(v, 1) for k, v in (estimate.parts if estimate else {}).items()}}


def timing_text(record: dict[str, Any]) -> str:
    took = f"Took {format_eta(record['real_s'])}"
    if not record.get("estimate_s"):
        return f"{took} (no estimate: press Estimate before Start to calibrate these settings)."
    ratio = f"; real/estimate {record['real_over_estimate']:.2f}" if record.get("real_over_estimate") else \
        " (resumed: the times do not compare)"
    return f"{took}, estimated {format_eta(record['estimate_s'])}{ratio}."
