"""Training speed: Lorag's worker against a plain trl script (same model, data and hyper-parameters), and packing
against no packing on a dataset of short rows (identity.json: ~50 tokens a row).

python -m bench.training [--model DIR] [--steps 8] [--skip-packing]
Progress on stderr; the last stdout line is one JSON object. Tokens/s = tokens trained / trainer run time
(model loading excluded), measured the same way for every run, in the same session.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDENTITY = ROOT.parent / "shared" / "datasets" / "identity.json"
PLACEHOLDERS = {"name": "Lorag", "author": "the Lorag team"}


def say(message: str) -> None:
    print(f"[bench.training] {message}", file=sys.stderr, flush=True)


def clean_model_copy(source: Path, dest: Path) -> Path:
    """The model folder without a stale GGUF quantization entry, so the plain trl script can load it too."""
    shutil.copytree(source, dest)
    config = json.loads((dest / "config.json").read_text())
    config.pop("quantization_config", None)
    (dest / "config.json").write_text(json.dumps(config, indent=2))
    return dest


def messages_file(dest: Path) -> Path:
    from engine.training.formats import fill_placeholders

    rows = fill_placeholders(json.loads(IDENTITY.read_text()), PLACEHOLDERS)
    lines = [json.dumps({"messages": [{"role": "user", "content": "\n\n".join(p for p in (r["instruction"], r["input"])
                                                                              if p)},
                                      {"role": "assistant", "content": r["output"]}]}) for r in rows]
    dest.write_text("\n".join(lines) + "\n")
    return dest


def subset(data: Path, dest: Path, rows: int) -> Path:
    dest.write_text("".join(data.read_text().splitlines(keepends=True)[:rows]))
    return dest


def run_ours(studio, model: Path, sha: str, name: str, **settings) -> dict:
    from engine.training.config import TrainingConfig

    config = TrainingConfig(base_model=str(model), adapter_name=name, dataset=sha, lora_rank=16, lora_alpha=32,
                            lora_dropout=0.05, learning_rate=2e-4, max_length=512, save_steps=10_000,
                            warmup_ratio=0.0, lr_scheduler="linear", logging_steps=1).merged(settings)
    started = time.time()
    job = studio.training.wait(studio.training.start(config).id, 3600)
    if job.status != "completed":
        raise SystemExit(f"our run {name} ended {job.status}: {job.message}\n{studio.jobs.log_tail(job.id)}")
    metrics = job.result["metrics"]
    return {"tokens": metrics["train_tokens"], "train_runtime_s": round(metrics["train_runtime_s"], 2),
            "tokens_per_s": round(metrics["tokens_per_s"], 1), "train_cpu_s": round(metrics["train_cpu_s"], 2),
            "tokens_per_cpu_s": round(metrics["train_tokens"] / metrics["train_cpu_s"], 1), "steps": metrics["steps"],
            "wall_s": round(time.time() - started, 1)}


def run_plain_trl(model: Path, data: Path, out: Path, steps: int, batch: int, checkpointing: str,
                  threads: int) -> dict:
    command = [sys.executable, "-m", "bench.trl_plain", "--model", str(model), "--data", str(data), "--out",
               str(out), "--steps", str(steps), "--batch", str(batch), "--gradient-checkpointing", checkpointing]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    result = json.loads(out.read_text())
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="a model folder (default: the offline SmolLM2-135M-Instruct)")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for every run (1 is steadiest on a "
                    "shared machine)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating rounds; the best of each is compared")
    ap.add_argument("--packing-rows", type=int, default=48, help="short rows for the packing comparison")
    ap.add_argument("--skip-packing", action="store_true")
    a = ap.parse_args()
    for key, value in {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_DISABLE_TELEMETRY": "1",
                       "GRADIO_ANALYTICS_ENABLED": "False"}.items():
        os.environ.setdefault(key, value)
    from engine.models.demo import import_demo_model
    from engine.settings import Settings
    from engine.studio import Studio

    work = Path(tempfile.mkdtemp(prefix="lorag-bench-training-"))
    try:
        source = a.model or import_demo_model(Path.home() / ".cache" / "lorag" / "test-models")
        model = clean_model_copy(source, work / "model")
        data = messages_file(work / "identity-messages.jsonl")
        studio = Studio(Settings(data_dir=work / "data", no_weaviate=True))
        sha = studio.training.upload(data)[0].sha256
        result: dict = {"model": source.name, "cpu_threads": a.threads, "steps": a.steps, "batch_size": a.batch,
                        "dataset": "identity.json (91 short rows, placeholders filled)"}

        runs: dict[str, list[dict]] = {"ours": [], "trl_default": [], "trl_no_checkpointing": []}
        for round_ in range(1, a.repeats + 1):  # alternate the three so a busy moment hits them alike
            say(f"round {round_}: Lorag worker, {a.steps} steps of batch {a.batch}")
            runs["ours"].append(run_ours(studio, model, sha, f"bench-ours-{round_}", max_steps=a.steps,
                                         batch_size=a.batch, cpu_threads=a.threads))
            say(f"  {runs['ours'][-1]}")
            say(f"round {round_}: plain trl script (trl's defaults: gradient checkpointing on)")
            runs["trl_default"].append(run_plain_trl(model, data, work / f"trl-{round_}.json", a.steps, a.batch,
                                                     "default", a.threads))
            say(f"  {runs['trl_default'][-1]}")
            say(f"round {round_}: plain trl script, gradient checkpointing off (as our worker on the CPU)")
            runs["trl_no_checkpointing"].append(run_plain_trl(model, data, work / f"trl-off-{round_}.json", a.steps,
                                                              a.batch, "off", a.threads))
            say(f"  {runs['trl_no_checkpointing'][-1]}")
        best = {name: max(r["tokens_per_s"] for r in found) for name, found in runs.items()}
        best_cpu = {name: max(r["tokens_per_cpu_s"] for r in found) for name, found in runs.items()}
        result["worker_vs_trl"] = {
            "best_tokens_per_s": best, "best_tokens_per_cpu_s": best_cpu, "runs": runs,
            "ratio_vs_trl_default": round(best["ours"] / best["trl_default"], 3),
            "ratio_vs_trl_no_checkpointing": round(best["ours"] / best["trl_no_checkpointing"], 3),
            "cpu_ratio_vs_trl_default": round(best_cpu["ours"] / best_cpu["trl_default"], 3),
            "cpu_ratio_vs_trl_no_checkpointing": round(best_cpu["ours"] / best_cpu["trl_no_checkpointing"], 3)}

        if not a.skip_packing:
            short = studio.training.upload(subset(data, work / "short-rows.jsonl", a.packing_rows))[0].sha256
            say(f"one epoch of {a.packing_rows} short rows without packing (batch 8)")
            plain = run_ours(studio, model, short, "bench-nopack", epochs=1, batch_size=8, cpu_threads=a.threads)
            say(f"  {plain}")
            say(f"one epoch of {a.packing_rows} short rows with packing (512-token sequences, batch 2)")
            packed = run_ours(studio, model, short, "bench-pack", epochs=1, batch_size=2, packing=True,
                              cpu_threads=a.threads)
            say(f"  {packed}")
            result["packing"] = {"no_packing": plain, "packing": packed,
                                 "epoch_speedup": round(plain["train_runtime_s"] / packed["train_runtime_s"], 3),
                                 "tokens_per_s_ratio": round(packed["tokens_per_s"] / plain["tokens_per_s"], 3),
                                 "tokens_per_cpu_s_ratio": round(packed["tokens_per_cpu_s"] / plain["tokens_per_cpu_s"],
                                                                 3)}
        studio.close()
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
