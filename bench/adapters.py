"""Adapter hot-swap against what the anchors do (reload the model with the adapter), on SmolLM2 on the CPU.

Measured with the real service on one loaded base:
- load from disk: the first use of an adapter (peft load_adapter onto the resident base),
- switch: activating another adapter that is already resident (peft set_adapter), and "none" (disable_adapter),
- baseline: loading the base model from its folder and wrapping it with the adapter (from_pretrained +
  PeftModel.from_pretrained), i.e. what text-generation-webui / LlamaBoard do to change adapters.
Also checks that switching back gives bit-identical logits.

    python -m bench.adapters [--adapters 3] [--switches 60] [--reloads 3] [--rank 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench._common import demo_models_dir, emit, median, say, setup_torch

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PROMPT = "The capital of France is"


def make_adapters(base: Path, folder: Path, count: int, rank: int) -> list[str]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from engine.adapters.meta import AdapterMeta, BaseFingerprint

    names = []
    model = AutoModelForCausalLM.from_pretrained(base)
    for i in range(count):
        torch.manual_seed(i + 1)
        peft_model = get_peft_model(model, LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=list(TARGETS),
                                                      init_lora_weights=False))
        name = f"bench-{i + 1}"
        peft_model.save_pretrained(folder / name)
        AdapterMeta(name=name, base=BaseFingerprint.of(model.config, "SmolLM2-135M-Instruct"), rank=rank,
                    alpha=2 * rank, target_modules=list(TARGETS), source="trained").save(folder / name)
        model = peft_model.unload()
        names.append(name)
    return names


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapters", type=int, default=3)
    parser.add_argument("--switches", type=int, default=60)
    parser.add_argument("--reloads", type=int, default=3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    setup_torch(args.threads)

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from engine.models.service import ModelService

    models_dir = demo_models_dir()
    adapters_dir = Path(tempfile.mkdtemp(prefix="bench-adapters-"))
    base_folder = models_dir / "SmolLM2-135M-Instruct"
    say(f"making {args.adapters} rank-{args.rank} adapters on all projections")
    names = make_adapters(base_folder, adapters_dir, args.adapters, args.rank)
    service = ModelService(models_dir, adapters_dir, max_resident_adapters=args.adapters + 1)
    info = service.load("smollm2-135m-demo", device="cpu")

    say("first use of each adapter: load from disk onto the resident base")
    load_times = [service.activate_adapter(name) for name in names]
    first_logits = service.next_token_logits(PROMPT, names[0])

    say(f"{args.switches} switches between resident adapters")
    host = service._loaded.host
    switch_times, none_times = [], []
    for i in range(args.switches):
        name = names[i % len(names)]
        started = time.perf_counter()
        with host.use(name):
            pass
        switch_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        with host.use(None):   # disable, then re-enable on the way out: both are paid per message
            pass
        none_times.append(time.perf_counter() - started)
    exact = torch.equal(service.next_token_logits(PROMPT, names[0]), first_logits)

    say(f"baseline: reload the model with the adapter, {args.reloads} times")
    service.unload()
    reload_times = []
    for i in range(args.reloads):
        adapter = adapters_dir / names[i % len(names)]

        def reload(adapter: Path = adapter) -> None:
            model = AutoModelForCausalLM.from_pretrained(base_folder)
            PeftModel.from_pretrained(model, str(adapter)).eval()
        reload_times.append(timed(reload))
        say(f"reload {i + 1}: {reload_times[-1]:.2f} s")

    switch_s, none_s, load_s, reload_s = (median(switch_times), median(none_times), median(load_times),
                                          median(reload_times))
    emit({
        "benchmark": "adapters", "model": info.name, "device": info.device, "threads": args.threads,
        "adapters": args.adapters, "rank": args.rank, "targets": list(TARGETS),
        "switch_resident_ms": round(switch_s * 1000, 3), "switch_to_none_ms": round(none_s * 1000, 3),
        "load_from_disk_ms": round(load_s * 1000, 1), "reload_model_with_adapter_ms": round(reload_s * 1000, 1),
        "speedup_switch_vs_reload": round(reload_s / switch_s, 1),
        "speedup_load_from_disk_vs_reload": round(reload_s / load_s, 1),
        "switch_back_bit_identical": exact,
    })


if __name__ == "__main__":
    main()
