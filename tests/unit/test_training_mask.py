"""Which tokens are trained: exactly the assistant turns, through the model's own chat template."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.training.encoding import Encoder, plan_for
from engine.training.formats import Example, RowProblem
from engine.training.preview import analyze
from tests.conftest import need_shared

SMOLLM2_TEMPLATE = (  # SmolLM2-135M-Instruct's ChatML template: no generation markers, no tool support
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi there"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [CALL]},
    {"role": "tool", "content": "sunny, 21 C"},
    {"role": "assistant", "content": "It is sunny and 21 C."},
    {"role": "user", "content": "Thanks"},
    {"role": "assistant", "content": "You're welcome."},
]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def tokenizer_of(folder, template=None):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    if template is not None:
        tok.chat_template = template
    return tok


def trained_runs(tok, encoded) -> list[str]:
    """The text of each run of consecutive trained tokens."""
    runs, current = [], []
    for token, bit in zip(encoded.input_ids, encoded.mask, strict=True):
        if bit:
            current.append(token)
        elif current:
            runs.append(tok.decode(current)), current.clear()
    if current:
        runs.append(tok.decode(current))
    return runs


EXPECTED_QWEN3 = [
    "Hello! How can I help?<|im_end|>",
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
    "It is sunny and 21 C.<|im_end|>",
    "You're welcome.<|im_end|>",
]


def test_real_qwen3_template_marks_exactly_the_assistant_turns(tiny_qwen3):
    tok = tokenizer_of(tiny_qwen3)
    encoder = Encoder(tok)
    assert encoder.plan.method == "located" and "<|im_end|>" in encoder.plan.note
    encoded = encoder.encode(Example("chat", 1, messages=CONVERSATION, tools=TOOLS))
    assert trained_runs(tok, encoded) == EXPECTED_QWEN3
    # and the ids are exactly what the template renders (the same tokens chat sees)
    rendered = tok.apply_chat_template(CONVERSATION, tools=TOOLS, tokenize=False)
    assert encoded.input_ids == tok(rendered, add_special_tokens=False)["input_ids"]


def test_real_qwen3_thinking_template_keeps_reasoning_in_the_trained_part(tiny_qwen3):
    template = need_shared("fixtures", "chat-templates", "qwen3_thinking_2507.jinja").read_text()
    tok = tokenizer_of(tiny_qwen3, template)
    messages = [{"role": "user", "content": "2+2?"},
                {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\nFour."}]
    encoded = Encoder(tok).encode(Example("chat", 1, messages=messages))
    runs = trained_runs(tok, encoded)
    assert len(runs) == 1 and "Add them." in runs[0] and runs[0].endswith("Four.<|im_end|>")
    assert "2+2?" not in "".join(runs)


def test_template_with_generation_markers_uses_them(tiny_qwen3_own_tokenizer):
    tok = tokenizer_of(tiny_qwen3_own_tokenizer)
    encoder = Encoder(tok)
    assert encoder.plan.method == "markers"
    messages = CONVERSATION[:3]
    encoded = encoder.encode(Example("chat", 1, messages=messages))
    assert trained_runs(tok, encoded) == ["Hello! How can I help?<|im_end|>"]


def test_chatml_without_markers_like_smollm2(tiny_qwen3_own_tokenizer):
    tok = tokenizer_of(tiny_qwen3_own_tokenizer, SMOLLM2_TEMPLATE)
    encoder = Encoder(tok)
    plan = encoder.plan
    assert plan.method == "located" and plan.headers == ("<|im_start|>assistant\n",) and plan.end == "<|im_end|>"
    messages = [m for m in CONVERSATION if not m.get("tool_calls") and m["role"] != "tool"]
    encoded = encoder.encode(Example("chat", 1, messages=messages))
    assert trained_runs(tok, encoded) == ["Hello! How can I help?<|im_end|>", "It is sunny and 21 C.<|im_end|>",
                                          "You're welcome.<|im_end|>"]
    with pytest.raises(RowProblem, match="drops the tool call"):
        encoder.encode(Example("chat", 1, messages=CONVERSATION))


def test_untick_assistant_only_trains_every_token(tiny_qwen3):
    tok = tokenizer_of(tiny_qwen3)
    encoded = Encoder(tok, assistant_only=False).encode(Example("chat", 1, messages=CONVERSATION[:3]))
    assert all(encoded.mask) and len(encoded.mask) == len(encoded.input_ids)


def test_prompt_completion_trains_the_completion_and_eos(tiny_qwen3):
    tok = tokenizer_of(tiny_qwen3)
    encoded = Encoder(tok).encode(Example("completion", 1, prompt="The capital of France is", completion=" Paris."))
    assert trained_runs(tok, encoded) == [" Paris." + tok.eos_token]
    text = Encoder(tok).encode(Example("text", 1, text="Plain words."))
    assert all(text.mask) and tok.decode(text.input_ids).endswith(tok.eos_token)


def test_model_without_template_refuses_chat_rows(tiny_qwen3):
    tok = tokenizer_of(tiny_qwen3, "")
    assert plan_for(tok).method == "none"
    with pytest.raises(LoragError, match="no chat template"):
        Encoder(tok).check_format("chat")
    Encoder(tok).check_format("text")  # plain text still works


def test_preview_and_stats_on_a_real_dataset(tiny_qwen3):
    from engine.training.datasets import load_dataset

    path = need_shared("datasets", "glaive_toolcall_en_demo.json")
    loaded = load_dataset(path, path.name, 1 << 30)
    tok = tokenizer_of(tiny_qwen3)
    analysis = analyze(loaded.examples, Encoder(tok), max_length=256, preview_rows=2)
    stats = analysis.stats
    assert stats.rows == 300 and analysis.error_count == 0
    assert stats.min <= stats.median <= stats.p95 <= stats.max
    assert 0 < stats.over_max_length < 300 and stats.trained_tokens < stats.tokens
    assert len(analysis.preview) == 2
    row = analysis.preview[0]
    trained = "".join(s.text for s in row.segments if s.trained)
    assert "search_recipes" in trained and "Hi, I have some ingredients" not in trained
    assert "".join(s.text for s in row.segments) == tok.decode(
        Encoder(tok).encode(loaded.examples[0]).input_ids)
    assert "cuts" in stats.summary(256)
