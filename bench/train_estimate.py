"""How good is "How long will it take?": for a few settings on the real SmolLM2-135M-Instruct (CPU), the estimate from a
calibration run, then the real run with the same settings, and real / estimate.

python -m bench.train_estimate [--threads 1] [--quick]
Progress on stderr; the last stdout line is one JSON object. The baseline in the same run is the formula an ETA uses
before any step of the real run is logged: steps x the calibrated seconds per step, without start-up, padding or
evaluations (`naive_s`). The machine's load (from `uptime`) is recorded before and after: a busy machine moves both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench._common import say
from bench.training import messages_file

# name -> settings beside the shared ones: a plain run, a run with evaluations and longer rows, a wider batch
SETTINGS = {
    "batch4-r16-30steps": {"batch_size": 4, "lora_rank": 16, "max_steps": 30},
    "batch2-r8-1epoch-eval": {"batch_size": 2, "lora_rank": 8, "epochs": 1.0, "validation_split": 0.1},
    "batch8-r16-len256-16steps": {"batch_size": 8, "lora_rank": 16, "max_length": 256, "max_steps": 16},
}
QUICK = {"quick": {"batch_size": 2, "lora_rank": 4, "max_steps": 4}}


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def measure(studio, model: Path, sha: str, name: str, changes: dict, threads: int) -> dict:
    from engine.training.config import TrainingConfig

    config = TrainingConfig(base_model=str(model), adapter_name=f"bench-{name}", dataset=sha, max_length=512,
                            save_steps=10_000, cpu_threads=threads, device="cpu").merged(changes)
    estimator = studio.training.estimator
    began = time.time()
    first = estimator.estimate(config)
    if first.job_id:
        job = studio.training.runner.wait(first.job_id, 1800)
        if job.status != "completed":
            raise SystemExit(f"calibration {name} ended {job.status}: {job.message}")
    calibration_s = time.time() - began
    estimate = estimator.estimate(config, calibrated_by=first.job_id)
    say(f"{name}: estimate {estimate.duration_s:.0f} s {estimate.parts} (calibration took {calibration_s:.0f} s)")
    run = studio.training.wait(studio.training.start(config).id, 3600)
    if run.status != "completed":
        raise SystemExit(f"run {name} ended {run.status}: {run.message}\n{studio.jobs.log_tail(run.id)}")
    timing = run.result["metrics"]["timing"]
    calibrated = estimate.calibration
    naive = estimate.tokens.steps * calibrated["s_per_step"]
    say(f"{name}: real {timing['real_s']:.0f} s, real/estimate {timing['real_over_estimate']}")
    return {"settings": changes, "steps": estimate.tokens.steps, "padded_tokens": estimate.tokens.padded_tokens,
            "estimate_s": timing["estimate_s"], "real_s": timing["real_s"], "ratio": timing["real_over_estimate"],
            "estimate_parts": timing["estimate_parts"], "calibration_s": round(calibration_s, 1),
            "calibration": {k: round(v, 4) if isinstance(v, float) else v for k, v in calibrated.items()},
            "naive_s": round(naive, 1), "naive_ratio": round(timing["real_s"] / naive, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="a model folder (default: the offline SmolLM2-135M-Instruct)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of every run (1 is steadiest on a shared "
                    "machine)")
    ap.add_argument("--quick", action="store_true", help="one 4-step run (checks the benchmark works)")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from engine.models.demo import import_demo_model
    from engine.settings import Settings
    from engine.studio import Studio

    work = Path(tempfile.mkdtemp(prefix="lorag-bench-estimate-"))
    try:
        model = a.model or import_demo_model(Path.home() / ".cache" / "lorag" / "test-models")
        studio = Studio(Settings(data_dir=work / "data", no_weaviate=True))
        sha = studio.training.upload(messages_file(work / "identity-messages.jsonl"))[0].sha256
        result: dict = {"model": model.name, "device": "cpu", "cpu_threads": a.threads, "load_before": load(),
                        "dataset": "identity.json (91 short rows, placeholders filled)", "runs": {}}
        for name, changes in (QUICK if a.quick else SETTINGS).items():
            result["runs"][name] = measure(studio, model, sha, name, changes, a.threads)
        result["load_after"] = load()
        ratios = [r["ratio"] for r in result["runs"].values()]
        result["worst_ratio_error"] = round(max(abs(r - 1) for r in ratios), 3)
        result["within_30_percent"] = all(abs(r - 1) <= 0.3 for r in ratios)
        studio.close()
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
