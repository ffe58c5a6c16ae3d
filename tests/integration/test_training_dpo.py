"""DPO in a real worker process on a tiny Qwen3 with the real Qwen tokenizer and template: after training, the
chosen answers are more likely than the rejected ones, relative to the base, by a clear margin; the job has its own
reward-margin curve and says in words what happened."""

from __future__ import annotations

import json

import pytest

from engine.training.config import TrainingConfig
from engine.training.datasets import load_dataset
from engine.training.encoding import Encoder
from tests.integration.test_training_jobs import training_studio

TRIPLES = [("What colour is the sky on a clear day?", "Blue.", "Green."),
           ("What is two plus two?", "Four.", "Five."),
           ("Which city is the capital of France?", "Paris.", "Berlin."),
           ("Is water wet?", "Yes.", "No.")]


@pytest.fixture
def studio(tmp_path):
    yield from training_studio(tmp_path)


def preference_file(tmp_path):
    """Half in LLaMA-Factory's sharegpt preference form, half in trl's conversational form."""
    rows = []
    for i, (question, good, bad) in enumerate(TRIPLES):
        if i % 2:
            rows.append({"prompt": [{"role": "user", "content": question}],
                         "chosen": [{"role": "assistant", "content": good}],
                         "rejected": [{"role": "assistant", "content": bad}]})
        else:
            rows.append({"conversations": [{"from": "human", "value": question}],
                         "chosen": {"from": "gpt", "value": good}, "rejected": {"from": "gpt", "value": bad}})
    path = tmp_path / "preferences.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def answer_logp(model, ids: list[int], start: int) -> float:
    """log p(ids[start:] | ids[:start]) summed over the answer's tokens."""
    import torch

    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1].float()
    logps = torch.log_softmax(logits, -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    return float(logps[start - 1:].sum())


def mean_margin(model, encoded) -> float:
    """Mean over rows of log p(chosen) - log p(rejected), after the same prompt."""
    margins = [answer_logp(model, e.input_ids, e.prompt_length) - answer_logp(model, e.rejected_ids, e.prompt_length)
               for e in encoded]
    return sum(margins) / len(margins)


def test_dpo_makes_the_chosen_answers_more_likely_than_the_rejected(studio, tmp_path, tiny_qwen3):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = preference_file(tmp_path)
    stored, report = studio.training.upload(path)
    assert report.format == "preference" and report.valid == len(TRIPLES)
    config = TrainingConfig(base_model=str(tiny_qwen3), adapter_name="prefers", dataset=stored.sha256,
                            method="dpo", beta=0.1, loss_type="sigmoid", max_steps=16, batch_size=2,
                            max_length=128, learning_rate=1e-2, lora_rank=8, lora_alpha=16, logging_steps=1,
                            save_steps=100, cpu_threads=1, warmup_ratio=0.0, lr_scheduler="constant")
    job = studio.training.start(config)
    job = studio.training.wait(job.id, 300)
    view = studio.training.view(job.id, log_lines=80)
    assert job.status == "completed", f"{job.message}\n{view.log_tail}"
    train_margins, _ = view.margin_points()
    assert len(train_margins) == 16 and train_margins[-1][1] > 0
    assert "The loss fell" in job.message and "Reward margin (chosen − rejected)" in job.message, job.message

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    examples = load_dataset(path, path.name, 1 << 30).examples
    encoded = [Encoder(tokenizer).encode(e) for e in examples]
    base = AutoModelForCausalLM.from_pretrained(tiny_qwen3).eval()
    before = mean_margin(base, encoded)
    tuned = PeftModel.from_pretrained(base, job.result["adapter_path"]).eval()
    after = mean_margin(tuned, encoded)
    # Measured here: -0.17 -> 1.53 nats (trl's reward margin 0.03 -> 0.18 = beta x the same gain). An untrained or
    # wrongly wired run (adapter not saved, chosen/rejected swapped, prompt trained) stays near 0 or goes negative.
    assert after - before > 0.8, (before, after)
