"""How the studio starts a training worker, and on how many processes.

One process: `python -m engine.training.worker CONFIG [--resume]`. Several (the form's `processes` above 1): the same
worker module under `accelerate launch` (accelerate's launcher runs torch.distributed's elastic agent, which starts one
worker per process with RANK / WORLD_SIZE set); the worker's trl trainer then trains data-parallel (DDP: NCCL on
GPUs, gloo on the CPU), or sharded with FSDP through the accelerate config in presets/accelerate/fsdp.yaml.

accelerate 1.15 facts this relies on (accelerate/commands/launch.py): `--cpu` always takes the single-process launcher
(several CPU processes need MPI there), so several processes go through `--multi_gpu`, whose torch.distributed
launcher also works without a GPU (the workers' `use_cpu=True` then picks gloo); `--main_process_port 0` picks a free
port; every worker runs in a session of its own (torch's elastic SubprocessHandler), so the studio ends a run by the
workers' command lines, not by the launcher's process group alone (engine.training.runner.sweep). FSDP needs GPUs:
with the FSDP config on the CPU the workers' `use_cpu=True` state is MULTI_CPU and accelerate makes no FSDP plugin,
so the run silently trains DDP (tried on 2026-12-02): the studio refuses fsdp on the CPU instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from engine.errors import LoragError
from engine.presets import PRESETS_DIR

WORKER_MODULE = "engine.training.worker"
LAUNCHER_MODULE = "accelerate.commands.launch"      # what the `accelerate launch` command runs
FSDP_CONFIG = PRESETS_DIR / "accelerate" / "fsdp.yaml"


def visible_gpus() -> int:
    """NVIDIA GPUs this process may use, read without torch (/proc and CUDA_VISIBLE_DEVICES)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return 0
    gpus = Path("/proc/driver/nvidia/gpus")
    present = len(list(gpus.iterdir())) if gpus.is_dir() else int(Path("/dev/nvidia0").exists())
    if visible is None:
        return present
    return min(present, len([v for v in visible.split(",") if v.strip()]))


def cpu_cores() -> int:
    return len(os.sched_getaffinity(0))


def check_processes(config: Any, device: str) -> None:
    """Refuse more processes than the device has: one GPU each, or one CPU core each; FSDP on GPUs only."""
    n = config.processes
    if n <= 1:
        return
    if device == "cuda":
        gpus = visible_gpus()
        if n > gpus:
            raise LoragError(f"{n} processes need {n} GPUs, but {gpus} are visible.",
                             hint="Set processes to the number of GPUs (or fewer).", key="training.too_many_processes",
                             hint_key="training.too_many_processes_hint", params={"processes": n, "gpus": gpus})
        return
    if config.distributed == "fsdp":
        raise LoragError("FSDP shards the model over GPUs; on the CPU use ddp (or one process).",
                         key="training.fsdp_needs_gpu")
    cores = cpu_cores()
    if n > cores:
        raise LoragError(f"{n} CPU processes need {n} cores, but this machine gives the studio {cores}.",
                         hint="Use fewer processes: more than the cores only makes training slower.",
                         key="training.too_many_cpu_processes", hint_key="training.too_many_cpu_processes_hint",
                         params={"processes": n, "cores": cores})


def processes_text(config: Any, device: str) -> str:
    """What each process holds and the global batch, in a sentence (the estimate says it)."""
    n, b, a = config.processes, config.batch_size, config.grad_accum
    batch = f"global batch {b} × {n} × {a} = {config.global_batch} rows per optimizer step"
    if n <= 1:
        return f"one process; {batch}."
    if device == "cuda" and config.distributed == "fsdp":
        return (f"{n} GPU processes (FSDP): each holds 1/{n} of the weights, the LoRA weights, gradients and "
                f"optimizer state, plus the activations of its own {b} rows per step; {batch}.")
    where = "one per GPU" if device == "cuda" else "on the CPU, gloo"
    return (f"{n} processes ({where}, DDP): each holds a whole copy of the model, its LoRA weights, gradients and "
            f"optimizer state, and the activations of its own {b} rows per step; {batch}.")


def worker_command(config_path: Path, processes: int = 1, device: str = "cpu", distributed: str = "ddp",
                   resume: bool = False, python: str = sys.executable) -> list[str]:
    """The command line that runs the worker for the job whose config.json is `config_path`."""
    worker = [WORKER_MODULE, str(config_path)] + (["--resume"] if resume else [])
    if processes <= 1:
        return [python, "-m", *worker]
    launch = [python, "-m", LAUNCHER_MODULE, "--num_processes", str(processes), "--main_process_port", "0"]
    if distributed == "fsdp" and device == "cuda":
        # the config file says the rest (flags given here would override it, e.g. its mixed precision)
        launch += ["--config_file", str(FSDP_CONFIG)]
    else:
        # torch.distributed's launcher: NCCL on GPUs, gloo on the CPU (see above); the trainer sets the precision
        launch += ["--num_machines", "1", "--dynamo_backend", "no", "--mixed_precision", "no", "--multi_gpu"]
    return [*launch, "--module", *worker]


def rank() -> int:
    """This process's rank in a multi-process run (0 alone)."""
    return int(os.environ.get("RANK", "0") or 0)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main() -> bool:
    """The process that writes the job's row, log, metrics and adapter (the others only train)."""
    return rank() == 0
