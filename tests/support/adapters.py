"""Real LoRA adapters for the tests: random ones (peft, non-zero B so they change the output) and a short real
fine-tune (a few optimizer steps with peft on a causal LM), saved as training saves them (lorag.json beside)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from engine.adapters.meta import AdapterMeta, BaseFingerprint

ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]


def _save(peft_model, base_config, folder: Path, name: str, base_label: str, rank: int, alpha: float,
          targets: Sequence[str], source: str, metrics: dict | None = None) -> Path:
    folder = Path(folder)
    peft_model.save_pretrained(folder)
    AdapterMeta(name=name, base=BaseFingerprint.of(base_config, source=base_label), rank=rank, alpha=alpha,
                target_modules=list(targets), source=source, metrics=metrics or {}).save(folder)
    return folder


def make_random_adapter(base_folder: Path, folder: Path, seed: int = 1, rank: int = 4,
                        targets: Sequence[str] = ("q_proj", "v_proj"), base_label: str = "",
                        scale: float = 1.0) -> Path:
    """A LoRA adapter with random A and B (peft's init_lora_weights=False), so it changes the logits."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(base_folder)
    config = LoraConfig(r=rank, lora_alpha=rank * 2, target_modules=list(targets), init_lora_weights=False)
    model = get_peft_model(base, config)
    if scale != 1.0:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.mul_(scale)
    return _save(model, base.config, folder, Path(folder).name, base_label or str(base_folder), rank, rank * 2,
                 targets, "trained")


def train_adapter(base_folder: Path, folder: Path, pairs: Sequence[tuple[str, str]], steps: int = 12,
                  lr: float = 3e-3, rank: int = 8, base_label: str = "") -> Path:
    """Fine-tune a LoRA adapter for a few steps on chat pairs (loss on the answer only), like training does."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base_folder)
    base = AutoModelForCausalLM.from_pretrained(base_folder)
    model = get_peft_model(base, LoraConfig(r=rank, lora_alpha=rank * 2, target_modules=ATTENTION,
                                            lora_dropout=0.0))
    batches = []
    for question, answer in pairs:
        messages = [{"role": "user", "content": question}]
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer + "<|im_end|>", add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt_ids + answer_ids])
        labels = torch.tensor([[-100] * len(prompt_ids) + answer_ids])
        batches.append((ids, labels))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    loss = None
    for step in range(steps):
        ids, labels = batches[step % len(batches)]
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()
    return _save(model, base.config, folder, Path(folder).name, base_label or str(base_folder), rank, rank * 2,
                 ATTENTION, "trained", metrics={"train_loss": loss.item(), "steps": steps})
