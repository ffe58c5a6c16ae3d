"""Each of the five formats trains a few steps on a tiny Qwen model and yields an adapter peft loads, with its
lorag.json. The worker's own function runs here in-process (the process itself is tested in integration)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from engine.adapters.meta import AdapterMeta, BaseFingerprint
from engine.settings import Settings
from engine.studio import Studio
from engine.training.config import TrainingConfig
from engine.training.jobfiles import JobFiles, JobSpec
from engine.training.trainer import run_job
from tests.conftest import need_shared

ROWS = {
    "openai": {"messages": [{"role": "system", "content": "You are Lorag."},
                            {"role": "user", "content": [{"type": "text", "text": "what is two plus two?"}]},
                            {"role": "assistant", "content": "four"}]},
    "sharegpt": {"conversations": [{"from": "human", "value": "hello world"}, {"from": "gpt", "value": "thank you"}]},
    "alpaca": {"instruction": "Question: what colour is the sky?", "input": "", "output": "blue",
               "history": [["hello", "yes"]]},
    "prompt_completion": {"prompt": "The capital of France is", "completion": " Paris."},
    "text": {"text": "Lorag is a local studio for Qwen models: chat, adapters, training and documents."},
}


def studio_in(tmp_path: Path) -> Studio:
    return Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))


def train(studio: Studio, dataset: Path, base: Path, name: str, **changes):
    service = studio.training
    stored, report = service.upload(dataset)
    config = TrainingConfig(base_model=str(base), adapter_name=name, dataset=stored.sha256, max_steps=2,
                            batch_size=2, max_length=128, save_steps=100, logging_steps=1, lora_rank=4,
                            lora_alpha=8, learning_rate=1e-2, cpu_threads=1).merged(changes).validate()
    resolved = service.check_config(config)
    job = studio.jobs.create("training", name, config.to_dict())
    spec = JobSpec(job.id, str(studio.data_dir), resolved.source, resolved.label, "cpu", config.to_dict())
    outcome = run_job(spec, JobFiles(studio.jobs.folder(job.id)), studio.jobs, threading.Event(), resume=False)
    return outcome, report, job


def check_adapter(folder: Path, base: Path, fmt: str, rows: int, counts_tokens: bool = True) -> AdapterMeta:
    """counts_tokens: the trainer logs num_tokens (trl's ORPO trainer does not)."""
    import torch
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert {"adapter_model.safetensors", "adapter_config.json", "lorag.json"} <= {p.name for p in folder.iterdir()}
    model = AutoModelForCausalLM.from_pretrained(base)
    peft_model = PeftModel.from_pretrained(model, folder)
    assert any("lora_" in n for n, _ in peft_model.named_parameters())
    weights = load_file(folder / "adapter_model.safetensors")
    assert any("lora_B" in k and torch.count_nonzero(v) for k, v in weights.items()), "LoRA B is still zero"
    meta = AdapterMeta.load(folder)
    assert meta.source == "trained" and meta.name == folder.name and meta.job_id
    assert meta.base.mismatch(BaseFingerprint.of(model.config)) == ""
    assert meta.dataset["format"] == fmt and meta.dataset["rows"] == rows and len(meta.dataset["sha256"]) == 64
    assert set(TrainingConfig().to_dict()) <= set(meta.params)
    assert meta.rank == 4 and meta.alpha == 8 and meta.target_modules
    assert meta.metrics["train_loss"] is not None and meta.metrics["steps"] == 2
    assert not counts_tokens or meta.metrics["tokens_per_s"] > 0
    assert meta.chat_template == AutoTokenizer.from_pretrained(base).chat_template
    return meta


@pytest.mark.parametrize("fmt", list(ROWS))
def test_each_format_trains_a_loadable_adapter(tmp_path, tiny_qwen3_own_tokenizer, fmt):
    dataset = tmp_path / f"{fmt}.jsonl"
    dataset.write_text("\n".join(json.dumps(ROWS[fmt]) for _ in range(6)) + "\n")
    outcome, report, job = train(studio_in(tmp_path), dataset, tiny_qwen3_own_tokenizer, f"tiny-{fmt}")
    assert report.format == fmt
    assert outcome.status == "completed", outcome.message
    folder = Path(outcome.result["adapter_path"])
    meta = check_adapter(folder, tiny_qwen3_own_tokenizer, fmt, 6)
    files = JobFiles(tmp_path / "data" / "jobs" / job.id)
    losses = [m for m in files.read_metrics() if m.get("loss") is not None]
    assert [m["step"] for m in losses] == [1, 2]
    assert {"learning_rate", "grad_norm", "tokens_per_s"} <= set(losses[-1])
    assert meta.params["loss_mask"] == "markers"  # this tokenizer's template has {% generation %} markers


def test_qlora_4bit_on_cpu_with_the_real_qwen3_template_and_tool_calls(tmp_path, tiny_qwen3):
    rows = json.loads(need_shared("datasets", "glaive_toolcall_en_demo.json").read_text())[:6]
    dataset = tmp_path / "glaive6.json"
    dataset.write_text(json.dumps(rows))
    outcome, report, _ = train(studio_in(tmp_path), dataset, tiny_qwen3, "tiny-qlora", quantization="4bit",
                               validation_split=0.34, max_length=512)
    assert outcome.status == "completed", outcome.message
    meta = check_adapter(Path(outcome.result["adapter_path"]), tiny_qwen3, "sharegpt", 6)
    assert meta.params["quantization"] == "4bit" and meta.params["quantized_layers"] > 0
    assert meta.params["loss_mask"] == "located"
    assert meta.dataset["eval_rows"] == 2 and meta.metrics["eval_loss"] is not None
