"""Qwen3 thinking with the real Qwen3 templates and the real Qwen tokenizer: reasoning is split from the answer
(token by token, as it streams), never leaks into the answer, and never goes back to the model in history."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from engine.models.streaming import IncrementalDecoder
from engine.models.thinking import (
    ALWAYS,
    NONE,
    SWITCHABLE,
    ReasoningSplitter,
    history_for_template,
    prompt_opens_reasoning,
    split_reasoning,
    thinking_mode,
)
from tests.conftest import need_shared

GENERATION_NONTHINKING = "{{- '<|im_start|>assistant\\n<think>\\n\\n</think>\\n\\n' }}"
HYBRID_GENERATION = ("{{- '<|im_start|>assistant\\n' }}"
                     "{%- if enable_thinking is defined and enable_thinking is false %}"
                     "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}")


def _template(name: str) -> str:
    return need_shared("fixtures", "chat-templates", name).read_text()


def hybrid_template() -> str:
    """Qwen3's hybrid template (enable_thinking), made from the real non-thinking one by swapping its
    generation prompt for the hybrid one."""
    source = _template("qwen3_nonthinking.jinja")
    assert GENERATION_NONTHINKING in source
    return source.replace(GENERATION_NONTHINKING, HYBRID_GENERATION)


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen3):
    return AutoTokenizer.from_pretrained(tiny_qwen3)


@pytest.fixture
def with_template(tokenizer):
    original = tokenizer.chat_template

    def use(template: str):
        tokenizer.chat_template = template
        return tokenizer

    yield use
    tokenizer.chat_template = original


def stream_split(tokenizer, prompt: str, generated: str) -> tuple[str, str, list]:
    """Feed `generated` token by token through the decoder and the splitter, as a stream does."""
    decoder = IncrementalDecoder(tokenizer)
    splitter = ReasoningSplitter(prompt_opens_reasoning(prompt))
    pieces = []
    for token_id in tokenizer(generated, add_special_tokens=False)["input_ids"]:
        pieces += splitter.feed(decoder.push([token_id]))
    pieces += splitter.feed(decoder.flush()) + splitter.finish()
    reasoning = "".join(p.text for p in pieces if p.kind == "reasoning")
    answer = "".join(p.text for p in pieces if p.kind == "answer")
    return reasoning, answer.rstrip(), pieces


QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def test_template_kinds(with_template):
    assert thinking_mode(with_template(_template("qwen3_nonthinking.jinja"))) == NONE
    assert thinking_mode(with_template(_template("qwen3_thinking_2507.jinja"))) == ALWAYS
    assert thinking_mode(with_template(hybrid_template())) == SWITCHABLE


def test_2507_thinking_template_opens_think_in_the_prompt(with_template):
    tok = with_template(_template("qwen3_thinking_2507.jinja"))
    prompt = tok.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n<think>\n")
    # The model's output has no opening tag, only the closing one.
    generated = ("The user asks about France.\nIts capital is Paris.\n</think>\n\n"
                 "The capital of France is Paris.<|im_end|>")
    reasoning, answer, pieces = stream_split(tok, prompt, generated)
    assert reasoning == "The user asks about France.\nIts capital is Paris."
    assert answer == "The capital of France is Paris."
    assert all("think>" not in p.text for p in pieces)


def test_hybrid_template_thinking_on_and_off(with_template):
    tok = with_template(hybrid_template())
    on = tok.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False, enable_thinking=True)
    off = tok.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False, enable_thinking=False)
    assert on.endswith("<|im_start|>assistant\n") and not prompt_opens_reasoning(on)
    assert off.endswith("<think>\n\n</think>\n\n") and not prompt_opens_reasoning(off)
    reasoning, answer, _ = stream_split(tok, on, "<think>\nParis, surely.\n</think>\n\nParis.<|im_end|>")
    assert (reasoning, answer) == ("Paris, surely.", "Paris.")
    reasoning, answer, _ = stream_split(tok, off, "Paris.<|im_end|>")
    assert (reasoning, answer) == ("", "Paris.")


def test_nonthinking_template_gives_answers_only(with_template):
    tok = with_template(_template("qwen3_nonthinking.jinja"))
    prompt = tok.apply_chat_template(QUESTION, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<think>\n\n</think>\n\n")
    assert stream_split(tok, prompt, "It is Paris.")[:2] == ("", "It is Paris.")


@pytest.mark.parametrize("name", ["qwen3_thinking_2507.jinja", "qwen3_nonthinking.jinja", "hybrid"])
def test_reasoning_never_goes_back_into_history(with_template, name):
    tok = with_template(hybrid_template() if name == "hybrid" else _template(name))
    history = [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris.", "reasoning": "SECRET-REASONING about France"},
        {"role": "user", "content": "And of Germany?"},
    ]
    prompt = tok.apply_chat_template(history_for_template(history), add_generation_prompt=True, tokenize=False)
    assert "SECRET-REASONING" not in prompt
    assert "<|im_start|>assistant\nParis.<|im_end|>" in prompt


def test_continued_reply_keeps_its_reasoning_in_place(with_template):
    tok = with_template(_template("qwen3_thinking_2507.jinja"))
    history = [{"role": "user", "content": "Hi"},
               {"role": "assistant", "content": "Hello", "reasoning": "greet back"}]
    prompt = tok.apply_chat_template(history_for_template(history), continue_final_message=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n<think>\ngreet back\n</think>\n\nHello")


def test_tags_split_over_many_deltas():
    splitter = ReasoningSplitter()
    pieces = []
    for ch in "  <think>\nstep one\nstep two\n</think>\n\nfinal answer":
        pieces += splitter.feed(ch)
    pieces += splitter.finish()
    assert "".join(p.text for p in pieces if p.kind == "reasoning") == "step one\nstep two"
    assert "".join(p.text for p in pieces if p.kind == "answer") == "final answer"


def test_reasoning_cut_by_max_tokens_stays_reasoning():
    assert split_reasoning("still thinking about it", starts_in_reasoning=True) == ("still thinking about it", "")
    assert split_reasoning("<think>\nhalf a thought") == ("half a thought", "")


def test_text_that_only_looks_like_a_tag_is_answer():
    assert split_reasoning("<thin air> is not a tag") == ("", "<thin air> is not a tag")
    assert split_reasoning("a < b and 2 > 1") == ("", "a < b and 2 > 1")


def test_decoder_never_cuts_a_character(tokenizer):
    text = "Grüße aus Köln 🌍 — 北京"
    decoder = IncrementalDecoder(tokenizer)
    out = "".join(decoder.push([i]) for i in tokenizer(text, add_special_tokens=False)["input_ids"])
    out += decoder.flush()
    assert out == text
    assert "\ufffd" not in out
