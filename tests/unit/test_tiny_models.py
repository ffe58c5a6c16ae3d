"""The tiny models the other tests stand on: real Qwen tokenization, templates, generation."""

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def _generate(folder, prompt_messages):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    inputs = tokenizer.apply_chat_template(prompt_messages, add_generation_prompt=True, return_tensors="pt",
                                           return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    return tokenizer, out[0, inputs["input_ids"].shape[1]:]


def test_real_tokenizer_is_qwens(tiny_qwen3):
    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen3)
    assert tokenizer("Hello world")["input_ids"] == [9707, 1879]  # Qwen2/3 ids for these words
    assert tokenizer.convert_tokens_to_ids("<think>") == 151667
    assert tokenizer.eos_token == "<|im_end|>"


def test_qwen3_template_and_generation(tiny_qwen3):
    tokenizer, new_tokens = _generate(tiny_qwen3, [{"role": "user", "content": "hi"}])
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                             tokenize=False)
    assert rendered.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert len(new_tokens) >= 1


def test_qwen2_model(tiny_qwen2):
    tokenizer, new_tokens = _generate(tiny_qwen2, [{"role": "user", "content": "hi"}])
    assert AutoModelForCausalLM.from_pretrained(tiny_qwen2).config.model_type == "qwen2"
    assert len(new_tokens) >= 1


def test_own_tokenizer_needs_no_shared(tiny_qwen3_own_tokenizer):
    tokenizer, new_tokens = _generate(tiny_qwen3_own_tokenizer, [{"role": "user", "content": "hello"}])
    assert tokenizer.decode(tokenizer("The capital of France")["input_ids"]) == "The capital of France"
    assert len(new_tokens) >= 1
