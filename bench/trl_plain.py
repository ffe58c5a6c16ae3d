"""The baseline for bench.training: a plain trl + peft script, as trl's docs write one (no Lorag code).

python -m bench.trl_plain --model DIR --data rows.jsonl --out result.json [--steps N] [--batch B] ...
Rows are OpenAI-style {"messages": [...]}; trl renders them with the tokenizer's chat template.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--gradient-checkpointing", choices=["default", "off"], default="default")
    a = ap.parse_args()

    import torch
    from datasets import load_dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    dataset = load_dataset("json", data_files=a.data, split="train")
    gpu = torch.cuda.is_available()  # on the GPU as our worker would run there (bf16)
    extra = {} if a.gradient_checkpointing == "default" else {"gradient_checkpointing": False}
    args = SFTConfig(output_dir=a.out + ".ckpt", max_steps=a.steps, per_device_train_batch_size=a.batch,
                     learning_rate=a.lr, max_length=a.max_length, logging_steps=1, save_strategy="no",
                     use_cpu=not gpu, bf16=gpu, report_to=[], seed=42, disable_tqdm=True, **extra)
    peft_config = LoraConfig(r=a.rank, lora_alpha=a.alpha, lora_dropout=0.05, target_modules="all-linear",
                             task_type="CAUSAL_LM")
    # the text model and its tokenizer, loaded as a plain script does (a Qwen3.5 folder would else pull in trl's
    # vision-language path, which wants an image processor the text-only fine-tune does not use)
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16 if gpu else torch.float32)
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, peft_config=peft_config,
                         processing_class=AutoTokenizer.from_pretrained(a.model))
    started, cpu = time.time(), time.process_time()
    output = trainer.train()
    cpu = time.process_time() - cpu
    tokens = max((h.get("num_tokens", 0) for h in trainer.state.log_history), default=0)
    runtime = output.metrics["train_runtime"]
    with open(a.out, "w") as fh:
        json.dump({"tokens": tokens, "train_runtime_s": runtime, "tokens_per_s": tokens / runtime,
                   "train_cpu_s": cpu, "tokens_per_cpu_s": tokens / cpu,
                   "steps": trainer.state.global_step, "wall_s": time.time() - started,
                   "gradient_checkpointing": bool(trainer.args.gradient_checkpointing)}, fh)


if __name__ == "__main__":
    main()
