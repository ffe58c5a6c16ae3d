"""The thinking controls and the training render of the real Qwen3.5 / 3.6 / 3.8 templates that trl ships: thinking
on/off, preserve_thinking, reasoning_effort, reasoning kept out of the history (chat and training alike), tool calls
in the template's XML format inside the trained tokens."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.models.thinking import history_for_template, prompt_opens_reasoning, template_kwargs, template_switches
from engine.training.encoding import Encoder
from engine.training.formats import Example
from tests.conftest import need_shared
from tests.support.tiny_models import qwen35_tokenizer

TEMPLATES = ("qwen3_5_think", "qwen3_5_nothink", "qwen3_6", "qwen3_8")
THINKS_BY_DEFAULT = {"qwen3_5_think": True, "qwen3_5_nothink": False, "qwen3_6": True, "qwen3_8": True}
SWITCHES = {"qwen3_5_think": ["enable_thinking"], "qwen3_5_nothink": ["enable_thinking"],
            "qwen3_6": ["enable_thinking", "preserve_thinking"],
            "qwen3_8": ["enable_thinking", "preserve_thinking", "reasoning_effort"]}
EARLIER_REASONING = "the user greets me, so I greet back"
CHAT = [{"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello there", "reasoning": EARLIER_REASONING},
        {"role": "user", "content": "how are you?"}]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    shared = need_shared("fixtures", "qwen2-tokenizer").parents[1]
    return {name: qwen35_tokenizer(tmp_path_factory.mktemp(name), shared, name) for name in TEMPLATES}


def render(tokenizer, messages=CHAT, thinking=None, preserve=False, effort=""):
    return tokenizer.apply_chat_template(history_for_template(messages, preserve), tokenize=False,
                                         add_generation_prompt=True,
                                         **template_kwargs(tokenizer, thinking, preserve, effort))


@pytest.mark.parametrize("name", TEMPLATES)
def test_thinking_on_off_and_the_default(tokenizers, name):
    tokenizer = tokenizers[name]
    assert template_switches(tokenizer) == SWITCHES[name]
    assert prompt_opens_reasoning(render(tokenizer)) is THINKS_BY_DEFAULT[name]
    assert prompt_opens_reasoning(render(tokenizer, thinking=True))
    off = render(tokenizer, thinking=False)
    assert not prompt_opens_reasoning(off) and off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


@pytest.mark.parametrize("name", TEMPLATES)
def test_earlier_reasoning_stays_out_unless_preserved(tokenizers, name):
    tokenizer = tokenizers[name]
    assert EARLIER_REASONING not in render(tokenizer)  # Qwen3.8's template would keep it by default
    preserved = render(tokenizer, preserve=True)
    assert (EARLIER_REASONING in preserved) is ("preserve_thinking" in SWITCHES[name])
    assert "hello there" in preserved


def test_reasoning_effort_on_qwen38_only(tokenizers):
    low = render(tokenizers["qwen3_8"], effort="low")
    assert "Reasoning effort is set to low" in low
    assert "Reasoning effort is set to xhigh" in render(tokenizers["qwen3_8"])
    assert "Reasoning effort" not in render(tokenizers["qwen3_8"], thinking=False)
    with pytest.raises(LoragError, match="reasoning effort"):
        render(tokenizers["qwen3_8"], effort="huge")
    with pytest.raises(LoragError, match="no reasoning effort switch"):
        render(tokenizers["qwen3_6"], effort="low")


TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]
TOOL_CHAT = [{"role": "user", "content": "Weather in Paris?"},
             {"role": "assistant", "content": "", "tool_calls": [
                 {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
             {"role": "tool", "content": "sunny, 21 C"},
             {"role": "assistant", "content": "It is sunny in Paris."},
             {"role": "user", "content": "And tomorrow?"},
             {"role": "assistant", "content": "I cannot tell yet."}]


def trained_text(tokenizer, encoded) -> list[str]:
    """The trained tokens, decoded run by run."""
    runs, current = [], []
    for token, trained in zip(encoded.input_ids, encoded.mask, strict=True):
        if trained:
            current.append(token)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    return runs + ([tokenizer.decode(current)] if current else [])


@pytest.mark.parametrize("name", TEMPLATES)
def test_training_marks_every_reply_and_the_xml_tool_call(tokenizers, name):
    tokenizer = tokenizers[name]
    encoded = Encoder(tokenizer).encode(Example(kind="chat", line=1, messages=TOOL_CHAT, tools=TOOLS))
    runs = trained_text(tokenizer, encoded)
    assert runs[0] == "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n" \
                      "</tool_call><|im_end|>"
    assert runs[1:] == ["It is sunny in Paris.<|im_end|>", "I cannot tell yet.<|im_end|>"]
    rendered = tokenizer.decode(encoded.input_ids)
    assert "<tools>" in rendered and "<tool_response>\nsunny, 21 C\n</tool_response>" in rendered


@pytest.mark.parametrize("name", TEMPLATES)
def test_training_render_is_the_chat_render(tokenizers, name):
    """One path: a conversation trained on shows its history exactly as chat sends it with thinking on (Qwen3.8's
    default would keep the empty reasoning blocks of earlier turns, chat leaves them out; its effort line stays)."""
    tokenizer = tokenizers[name]
    messages = CHAT + [{"role": "assistant", "content": "fine"}]
    encoded = Encoder(tokenizer).encode(Example(kind="chat", line=1, messages=messages))
    history = render(tokenizer, thinking=True).rsplit("<|im_start|>assistant\n", 1)[0]
    assert tokenizer.decode(encoded.input_ids).startswith(history + "<|im_start|>assistant\n")
    assert trained_text(tokenizer, encoded)[-1] == "fine<|im_end|>"
