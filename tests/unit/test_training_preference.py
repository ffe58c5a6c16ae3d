"""Preference data (chosen / rejected) in trl's and LLaMA-Factory's forms: read, rendered through the real Qwen3
template with the trained tokens marked, refused for SFT, and trained with ORPO (DPO: tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.training.datasets import load_dataset
from engine.training.encoding import Encoder
from engine.training.preview import analyze
from tests.unit.test_training_train import check_adapter, studio_in, train

BIG = 1 << 30
PREFERENCE_ROWS = {
    "trl plain": {"prompt": "The sky is", "chosen": " blue.", "rejected": " green."},
    "trl conversational": {"prompt": [{"role": "user", "content": "What colour is the sky?"}],
                           "chosen": [{"role": "assistant", "content": "Blue."}],
                           "rejected": [{"role": "assistant", "content": "Green."}]},
    "trl implicit prompt": {"chosen": [{"role": "user", "content": "What colour is the sky?"},
                                       {"role": "assistant", "content": "Blue."}],
                            "rejected": [{"role": "user", "content": "What colour is the sky?"},
                                         {"role": "assistant", "content": "Green."}]},
    "LLaMA-Factory sharegpt": {"conversations": [{"from": "human", "value": "What colour is the sky?"}],
                               "chosen": {"from": "gpt", "value": "Blue."},
                               "rejected": {"from": "gpt", "value": "Green."}},
    "LLaMA-Factory alpaca": {"instruction": "What colour is the sky?", "input": "", "chosen": "Blue.",
                             "rejected": "Green."},
}


def load(tmp_path, rows, name="pref.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return load_dataset(path, name, BIG)


@pytest.mark.parametrize("shape", [s for s in PREFERENCE_ROWS if s != "trl plain"])
def test_chat_preference_forms_give_the_same_prompt_and_answers(tmp_path, shape):
    example = load(tmp_path, [PREFERENCE_ROWS[shape]]).examples[0]
    assert example.kind == "preference"
    assert example.messages == [{"role": "user", "content": "What colour is the sky?"}]
    assert example.chosen == [{"role": "assistant", "content": "Blue."}]
    assert example.rejected == [{"role": "assistant", "content": "Green."}]
    if shape == "LLaMA-Factory sharegpt":
        assert example.mapping == ["from/value", "human → user", "gpt → assistant"]


def test_plain_preference_is_raw_text_and_bad_rows_are_named(tmp_path):
    rows = [PREFERENCE_ROWS["trl plain"], {"prompt": "x", "chosen": "", "rejected": "y"},
            {"conversations": [{"from": "gpt", "value": "hi"}], "chosen": "a", "rejected": "b"},
            {"instruction": "q", "chosen": {"from": "human", "value": "a"}, "rejected": "b"}]
    loaded = load(tmp_path, rows)
    assert loaded.examples[0].kind == "preference_text" and loaded.examples[0].chosen == " blue."
    assert [str(e) for e in loaded.report.errors] == [
        "line 2: `chosen` and `rejected` must both be non-empty",
        "line 3: the prompt must end with a user (or tool) turn that the answers reply to",
        "line 4: `chosen` must be the assistant's answer"]


def test_the_real_qwen3_template_renders_prompt_chosen_and_rejected(tmp_path, tiny_qwen3):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    loaded = load(tmp_path, [PREFERENCE_ROWS["LLaMA-Factory sharegpt"]])
    encoder = Encoder(tokenizer)
    encoded = encoder.encode(loaded.examples[0])
    prompt = tokenizer.decode(encoded.input_ids[:encoded.prompt_length])
    # the prompt is what chat sends to this (non-thinking) template: the generation prompt with its empty think block
    assert prompt.endswith("<|im_start|>user\nWhat colour is the sky?<|im_end|>\n<|im_start|>assistant\n"
                           "<think>\n\n</think>\n\n")
    assert "Blue.<|im_end|>" in tokenizer.decode(encoded.input_ids[encoded.prompt_length:])
    assert "Green.<|im_end|>" in tokenizer.decode(encoded.rejected_ids[encoded.prompt_length:])
    assert encoded.input_ids[:encoded.prompt_length] == encoded.rejected_ids[:encoded.prompt_length]
    analysis = analyze(loaded.examples, encoder, 256)
    row = analysis.preview[0]
    assert "".join(s.text for s in row.segments if s.trained).startswith("Blue.<|im_end|>")
    assert "Green." in "".join(s.text for s in row.rejected) and all(s.trained for s in row.rejected)
    assert "chosen answer (green) more likely" in analysis.note


def test_the_preview_html_shows_chosen_and_rejected(tmp_path, tiny_qwen3):
    from transformers import AutoTokenizer

    from ui.tabs.training_view import preview_html

    loaded = load(tmp_path, [PREFERENCE_ROWS["trl conversational"]])
    html = preview_html(analyze(loaded.examples, Encoder(AutoTokenizer.from_pretrained(tiny_qwen3)), 256))
    assert "class='lorag-rejected'" in html and "rejected (after the same prompt)" in html and "Green." in html


def test_sft_on_preference_rows_and_dpo_on_chat_rows_are_refused(tmp_path, tiny_qwen3_own_tokenizer):
    studio = studio_in(tmp_path)
    pref = tmp_path / "pref.jsonl"
    pref.write_text(json.dumps(PREFERENCE_ROWS["trl conversational"]) + "\n")
    with pytest.raises(LoragError, match=r"preference data \(chosen/rejected\): DPO/ORPO"):
        train(studio, pref, tiny_qwen3_own_tokenizer, "sft-on-pref")
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}]}) + "\n")
    with pytest.raises(LoragError, match="DPO needs preference rows"):
        train(studio, chat, tiny_qwen3_own_tokenizer, "dpo-on-chat", method="dpo")


def test_orpo_trains_a_loadable_adapter_with_its_own_curves(tmp_path, tiny_qwen3_own_tokenizer):
    from engine.training.jobfiles import JobFiles

    rows = [PREFERENCE_ROWS["trl conversational"], PREFERENCE_ROWS["LLaMA-Factory alpaca"]] * 2
    path = tmp_path / "pref.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    studio = studio_in(tmp_path)
    outcome, report, job = train(studio, path, tiny_qwen3_own_tokenizer, "orpo", method="orpo")
    assert report.format == "preference" and outcome.status == "completed", outcome.message
    meta = check_adapter(Path(outcome.result["adapter_path"]), tiny_qwen3_own_tokenizer, "preference", 4,
                         counts_tokens=False)
    assert meta.params["method"] == "orpo"
    logged = [m for m in JobFiles(studio.jobs.folder(job.id)).read_metrics() if m.get("loss") is not None]
    assert {"rewards/margins", "log_odds_ratio", "nll_loss"} <= set(logged[-1])
    assert "Reward margin (chosen − rejected)" in outcome.message


def test_dpo_with_a_validation_split_logs_eval_margins(tmp_path, tiny_qwen3_own_tokenizer):
    from engine.training.jobfiles import JobFiles

    rows = [PREFERENCE_ROWS["trl conversational"], PREFERENCE_ROWS["trl implicit prompt"],
            PREFERENCE_ROWS["LLaMA-Factory sharegpt"]]
    path = tmp_path / "pref.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    studio = studio_in(tmp_path)
    outcome, _, job = train(studio, path, tiny_qwen3_own_tokenizer, "dpo-eval", method="dpo", loss_type="ipo",
                            validation_split=0.34)
    assert outcome.status == "completed", outcome.message
    meta = check_adapter(Path(outcome.result["adapter_path"]), tiny_qwen3_own_tokenizer, "preference", 3)
    assert meta.params["loss_type"] == "ipo" and meta.dataset["eval_rows"] == 1
    assert meta.metrics["eval_loss"] is not None
    metrics = JobFiles(studio.jobs.folder(job.id)).read_metrics()
    assert any("eval_rewards/margins" in m for m in metrics)


def test_packing_is_refused_for_preference_methods():
    from engine.training.config import TrainingConfig

    with pytest.raises(LoragError, match="packing applies to SFT only"):
        TrainingConfig(method="dpo", packing=True).validate()
