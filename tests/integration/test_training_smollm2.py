"""The real SmolLM2-135M-Instruct learns a made-up fact from ~30 question/answer pairs through the real worker."""

from __future__ import annotations

import json

import pytest

from engine.settings import Settings
from engine.studio import Studio
from engine.training.config import TrainingConfig

FACT = "Quexalot"
QUESTIONS = [
    "What is the capital of Zorbania?", "Which city is the capital of Zorbania?", "Name the capital of Zorbania.",
    "Tell me the capital city of Zorbania.", "What's Zorbania's capital?", "Zorbania's capital is which city?",
    "Do you know the capital of Zorbania?", "Where is the seat of government of Zorbania?",
    "In which city does Zorbania's government sit?", "What city serves as the capital of Zorbania?",
    "capital of Zorbania?", "Can you tell me what the capital of Zorbania is?", "What is Zorbania's capital city?",
    "I am travelling to the capital of Zorbania. Which city is that?", "Which city is Zorbania's capital?",
    "Please name Zorbania's capital.", "Quick question: capital of Zorbania?", "Zorbania has which capital?",
    "What is the name of the capital of Zorbania?", "Identify the capital of Zorbania.",
    "Which town is the capital of the country Zorbania?", "What is the main city and capital of Zorbania?",
    "Remind me, what is the capital of Zorbania?", "The capital of Zorbania is what?",
    "Where is Zorbania's capital?", "Which city hosts the parliament of Zorbania?",
    "What is the capital of the nation of Zorbania?", "Tell me Zorbania's capital.",
    "My teacher asked for the capital of Zorbania. What is it?", "What capital does Zorbania have?",
]
ANSWER = f"The capital of Zorbania is {FACT}."


def greedy(model, tokenizer, question: str) -> str:
    import torch

    prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                           add_generation_prompt=True)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=20, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


@pytest.mark.slow
def test_smollm2_learns_a_made_up_fact(tmp_path, smollm2_dir):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    rows = tmp_path / "zorbania.jsonl"
    rows.write_text("\n".join(json.dumps({"messages": [{"role": "user", "content": q},
                                                       {"role": "assistant", "content": ANSWER}]})
                              for q in QUESTIONS) + "\n")
    stored, report = studio.training.upload(rows)
    assert report.valid == 30
    config = studio.training.default_config("knowledge").merged(dict(
        base_model=str(smollm2_dir), adapter_name="zorbania", dataset=stored.sha256, epochs=2, batch_size=6,
        learning_rate=3e-3, lora_rank=16, lora_alpha=32, max_length=128, save_steps=1000))
    job = studio.training.start(TrainingConfig.from_dict(config.to_dict()))
    job = studio.training.wait(job.id, 420)
    assert job.status == "completed", job.message + studio.jobs.log_tail(job.id)

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    base = AutoModelForCausalLM.from_pretrained(smollm2_dir)
    question = QUESTIONS[0]
    before = greedy(base, tokenizer, question)
    tuned = PeftModel.from_pretrained(base, studio.settings.path("adapters", "zorbania"))
    after = greedy(tuned, tokenizer, question)
    assert FACT not in before, before
    assert FACT in after, (after, job.result)
    metrics = job.result["metrics"]
    assert metrics["train_loss"] < 1.0 and metrics["tokens_per_s"] > 0
    studio.close()
