"""Speed at today's Qwen shapes, per model: Lorag's chat path against bare `generate` (decode tokens/s, time to
first token), Lorag's training worker against a plain trl script (LoRA tokens/s), and the switch between two
resident adapters. Each figure is a ratio to its baseline measured in the same run.

    python -m bench.gpu --tiny          # on the CPU: tiny random Qwen2.5, Qwen3.5 dense and Qwen3.5 MoE
    python -m bench.gpu --tiny --quick  # CI (tests/integration/test_bench_gpu_tiny.py): the same runs, least work
    python -m bench.gpu                 # on a GPU: random-init models at real shapes (no weights can be fetched):
                                        # Qwen2.5-7B, Qwen3.5-27B (dense, DeltaNet) and Qwen3-30B-A3B (MoE)

On the GPU each model is written in bf16 to --work-dir, measured, and deleted before the next (the MoE takes about
61 GB of disk). Needs trl and peft there, and ../shared (the Qwen tokenizer fixture and identity.json).
The JSON's "kernels" says whether flash-linear-attention (`fla`) and `causal_conv1d` were importable, and whether
transformers uses them (it needs CUDA too): without them Qwen3.5's DeltaNet layers run slow reference code, so a
GPU run records which of the two it measured (`pip install -e .[gpu]`, what scripts/setup.sh does on a GPU).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import tempfile
import time
from pathlib import Path

from bench._common import SHARED, emit, median, say, setup_torch

TINY = {"qwen2.5-tiny": ("qwen2", ""), "qwen3.5-tiny": ("qwen3_5", "qwen3_5_think"),
        "qwen3.5-moe-tiny": ("qwen3_5_moe", "qwen3_6")}
REAL = ("qwen2.5-7b", "qwen3.5-27b", "qwen3-30b-a3b")


# import name -> (distribution, the transformers check that says it will be used)
KERNELS = {"fla": ("flash-linear-attention", "is_flash_linear_attention_available"),
           "causal_conv1d": ("causal-conv1d", "is_causal_conv1d_available")}


def linear_attention_kernels() -> dict:
    """For `fla` and `causal_conv1d`: importable here (with its version, or why not), and used by transformers."""
    from importlib import metadata

    from transformers.utils import import_utils

    out = {}
    for module, (distribution, check) in KERNELS.items():
        entry: dict = {"distribution": distribution}
        try:
            version = getattr(importlib.import_module(module), "__version__", "")
            entry.update(importable=True, version=version or _version(metadata, distribution))
        except Exception as exc:  # noqa: BLE001 - absent, or present but broken (no CUDA, a torch mismatch)
            entry.update(importable=False, error=f"{type(exc).__name__}: {exc}"[:300])
        used = getattr(import_utils, check, None)
        entry["used_by_transformers"] = bool(used()) if used is not None else False
        out[module] = entry
    return out


def _version(metadata, distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:   # e.g. `fla` from fla-core alone
        return ""


def real_config(name: str):
    """Shapes of the real checkpoints. Qwen2.5-7B and Qwen3-30B-A3B: their config.json as remembered (not checkable
    offline here); Qwen3.5-27B: the layout on the Qwen3.6-27B model card (assumed the same)."""
    from transformers import Qwen2Config, Qwen3_5Config, Qwen3MoeConfig

    if name == "qwen2.5-7b":
        return Qwen2Config(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                           num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768,
                           tie_word_embeddings=False)
    if name == "qwen3.5-27b":
        layers = ["linear_attention"] * 3 + ["full_attention"]
        return Qwen3_5Config(text_config=dict(
            hidden_size=5120, num_hidden_layers=64, intermediate_size=17408, linear_num_value_heads=48,
            linear_num_key_heads=16, linear_key_head_dim=128, linear_value_head_dim=128, num_attention_heads=24,
            num_key_value_heads=4, head_dim=256, layer_types=layers * 16, tie_word_embeddings=False))
    return Qwen3MoeConfig(vocab_size=151936, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
                          num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
                          num_experts=128, num_experts_per_tok=8, tie_word_embeddings=False)


def build(name: str, folder: Path, tiny: bool) -> Path:
    from tests.support.tiny_models import build_tiny_qwen, qwen35_tokenizer

    if tiny:
        arch, template = TINY[name]
        return build_tiny_qwen(folder, arch=arch, shared=SHARED, template=template)
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    config = real_config(name)
    tokenizer = qwen35_tokenizer(folder, SHARED, "qwen3_5_think" if name.startswith("qwen3.5") else "")
    kind = AutoModelForImageTextToText if name.startswith("qwen3.5") else AutoModelForCausalLM
    with torch.device("cuda"):
        model = kind.from_config(config, dtype=torch.bfloat16)
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.save_pretrained(folder)
    del model
    torch.cuda.empty_cache()
    return folder


def chat_speed(service, rounds: int, new_tokens: int) -> dict:
    from bench.generation import MESSAGES, run_bare, run_ours
    from engine.models.generation import GenerationParams
    from engine.models.streaming import special_ids

    loaded = service._loaded
    params = GenerationParams(temperature=0, max_new_tokens=new_tokens)
    prompt = service.render_prompt(MESSAGES)
    inputs = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(loaded.model.device)
    special = special_ids(loaded, chat=True)
    run_ours(service, params)
    run_bare(loaded.model, loaded.tokenizer, inputs, params, special)
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(run_ours(service, params))
        bare.append(run_bare(loaded.model, loaded.tokenizer, inputs, params, special))
    tps, bare_tps = median([o["tps"] for o in ours]), median([b["tps"] for b in bare])
    ttft, bare_ttft = median([o["ttft"] for o in ours]), median([b["ttft"] for b in bare])
    return {"tokens_per_s": round(tps, 2), "bare_tokens_per_s": round(bare_tps, 2),
            "tokens_per_s_ratio": round(tps / bare_tps, 3), "ttft_ms": round(ttft * 1000, 1),
            "bare_ttft_ms": round(bare_ttft * 1000, 1), "ttft_delta_ms": round((ttft - bare_ttft) * 1000, 1)}


def switch_speed(service, folder: Path, adapters_dir: Path, switches: int) -> dict:
    from bench.adapters import make_adapters

    names = make_adapters(folder, adapters_dir, 2, 16)
    load_s = [service.activate_adapter(name) for name in names]
    host, times = service._loaded.host, []
    for i in range(switches):
        started = time.perf_counter()
        with host.use(names[i % 2]):
            pass
        times.append(time.perf_counter() - started)
    return {"switch_resident_ms": round(median(times) * 1000, 3), "load_from_disk_ms": round(median(load_s) * 1000, 1)}


def training_speed(studio, folder: Path, work: Path, steps: int, batch: int, threads: int) -> dict:
    from bench.training import messages_file, run_ours, run_plain_trl

    data = messages_file(work / "identity-messages.jsonl")
    sha = studio.training.upload(data)[0].sha256
    # loss on every token, as the plain trl script (trl's default) does
    ours = run_ours(studio, folder, sha, f"bench-{folder.name}", max_steps=steps, batch_size=batch,
                    cpu_threads=threads, lora_rank=16, assistant_only=False)
    plain = run_plain_trl(folder, data, work / f"trl-{folder.name}.json", steps, batch, "default", threads)
    return {"tokens_per_s": ours["tokens_per_s"], "trl_tokens_per_s": round(plain["tokens_per_s"], 1),
            "ratio_vs_trl": round(ours["tokens_per_s"] / plain["tokens_per_s"], 3)}


def measure(name: str, args: argparse.Namespace, work: Path) -> dict:
    from engine.settings import Settings
    from engine.studio import Studio

    folder = build(name, work / name, args.tiny)
    studio = Studio(Settings(data_dir=work / f"data-{name}", no_weaviate=True))
    try:
        say(f"{name}: chat path against bare generate")
        device = "cpu" if args.tiny else "cuda"
        info = studio.models.load(str(folder), device=device)
        result = {"params": info.params, "device": info.device, "chat": chat_speed(studio.models, args.rounds,
                                                                                    args.new_tokens)}
        say(f"{name}: adapter switch")
        result["adapters"] = switch_speed(studio.models, folder, studio.settings.path("adapters"), args.switches)
        studio.models.unload()
        say(f"{name}: LoRA training, our worker against plain trl")
        result["training"] = training_speed(studio, folder, work, args.steps, args.batch, args.threads)
        say(f"{name}: {result}")
        return result
    finally:
        studio.close()
        shutil.rmtree(folder, ignore_errors=True)


# --rounds, --new-tokens, --switches, --steps, --batch: as measured, and with --quick (every part still runs).
AMOUNTS = {"rounds": 3, "new_tokens": 32, "switches": 40, "steps": 4, "batch": 2}
QUICK = {"rounds": 1, "new_tokens": 4, "switches": 4, "steps": 1, "batch": 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random models on the CPU")
    parser.add_argument("--quick", action="store_true", help="the least work per part (1 round of 4 tokens, 4 "
                        "switches, 1 training step of batch 1): a check that the benchmark runs, not a measurement; "
                        "the flags below still override it")
    parser.add_argument("--models", default="", help="comma-separated subset of the models")
    parser.add_argument("--work-dir", type=Path, default=None)
    for name in AMOUNTS:
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=None,
                            help=f"default {AMOUNTS[name]}, --quick {QUICK[name]}")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else AMOUNTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main() -> None:
    args = parse_args()
    setup_torch(args.threads)
    names = [n for n in args.models.split(",") if n] or list(TINY if args.tiny else REAL)
    work = Path(tempfile.mkdtemp(prefix="lorag-bench-gpu-", dir=args.work_dir))
    try:
        results = {name: measure(name, args, work) for name in names}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit({"benchmark": "gpu", "mode": "tiny" if args.tiny else "real shapes, random init", "quick": args.quick,
          "kernels": linear_attention_kernels(), "models": results})


if __name__ == "__main__":
    main()
