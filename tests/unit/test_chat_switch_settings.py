"""The Chat tab's "Keep earlier reasoning" (preserve_thinking) and "Reasoning effort" controls: shown only for a
model whose template reads the switch, saved with the chat's settings and read back, and what the model receives
(the chat's reply, "Show prompt", the compare panel) reflects them; a model without the switch answers the chat
as if it was never set."""

from __future__ import annotations

import pytest

from engine.chat_turn import chat_switches, last_prompt, stream_reply
from engine.settings import Settings
from engine.studio import Studio
from ui.tabs.chat_compare import compare_stream
from ui.tabs.chat_settings import (
    NONE_ADAPTER,
    PARAM_NAMES,
    TEMPLATE_EFFORT,
    controls_from_settings,
    default_settings,
    settings_from_controls,
)

GREEDY = {"temperature": 0, "max_new_tokens": 4}
EARLIER_REASONING = "the user greets me, so I greet back"
PARAMS = [0.0, 1.0, 0, 0.0, 1.0, 4, 7]   # temperature, top_p, top_k, min_p, repetition_penalty, max_new_tokens, seed


def controls(preserve, effort, thinking=True):
    return [NONE_ADAPTER, thinking, preserve, effort, "", "default", *PARAMS, ""]


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    studio = Studio(Settings(data_dir=tmp_path_factory.mktemp("switch-studio") / "data", no_weaviate=True))
    yield studio
    studio.close()


@pytest.fixture
def qwen38(studio, tiny_qwen38):
    studio.models.load(str(tiny_qwen38), device="cpu")
    return studio


def test_the_controls_map_to_the_chat_settings_and_back():
    assert len(PARAMS) == len(PARAM_NAMES)
    settings = settings_from_controls(*controls(True, "low"))
    assert settings["preserve_thinking"] is True and settings["reasoning_effort"] == "low"
    assert settings["thinking"] is True and settings["params"]["max_new_tokens"] == 4
    plain = settings_from_controls(*controls(False, TEMPLATE_EFFORT))
    assert plain["preserve_thinking"] is False and plain["reasoning_effort"] == ""   # '' = the template's default
    assert settings_from_controls(*controls(None, None))["reasoning_effort"] == ""


def test_shown_for_a_template_with_the_switches_and_read_back_from_the_chat(qwen38):
    assert qwen38.models.current.switches == ["enable_thinking", "preserve_thinking", "reasoning_effort"]
    chat = qwen38.chats.create(settings=settings_from_controls(*controls(True, "medium")))
    values = controls_from_settings(qwen38, qwen38.chats.get(chat.id).settings)
    thinking, preserve, effort = values[1:4]
    assert thinking["value"] is True and thinking["interactive"]
    assert preserve == {**preserve, "value": True, "visible": True}
    assert effort["value"] == "medium" and effort["visible"]
    assert [value for _, value in effort["choices"]] == [TEMPLATE_EFFORT, "xhigh", "medium", "low"]
    fresh = controls_from_settings(qwen38, {})   # a new chat: off, and the template's own effort
    assert fresh[2]["value"] is False and fresh[3]["value"] == TEMPLATE_EFFORT
    assert default_settings(qwen38)["reasoning_effort"] == ""


def test_hidden_for_a_model_without_them_which_answers_as_if_never_set(studio, tiny_qwen3, tiny_qwen38):
    studio.models.load(str(tiny_qwen3), device="cpu")   # Qwen3: enable_thinking only
    settings = settings_from_controls(*controls(True, "low"))
    _, _, preserve, effort, *_ = controls_from_settings(studio, settings)
    assert not preserve["visible"] and not effort["visible"]
    assert preserve["value"] is True and effort["value"] == "low"   # still the chat's: kept when saved again
    assert chat_switches(studio.models, settings) == {}
    chat = studio.chats.create(settings={**settings, "params": GREEDY})
    studio.chats.append(chat.id, "user", "hi")
    events = list(stream_reply(studio.chats, studio.models, chat.id))   # no "no reasoning effort switch" refusal
    assert events[-1].kind == "done"


def test_what_the_model_receives_follows_them(qwen38):
    models = qwen38.models
    chat = qwen38.chats.create(settings={**settings_from_controls(*controls(True, "low")), "params": GREEDY})
    qwen38.chats.append(chat.id, "user", "hi")
    qwen38.chats.append(chat.id, "assistant", "hello there", reasoning=EARLIER_REASONING)
    qwen38.chats.append(chat.id, "user", "how are you?")
    settings = qwen38.chats.get(chat.id).settings
    assert chat_switches(models, settings) == {"preserve_thinking": True, "reasoning_effort": "low"}
    upcoming = last_prompt(qwen38.chats, models, chat.id, settings)   # "Show prompt" before the reply
    assert "Reasoning effort is set to low" in upcoming and EARLIER_REASONING in upcoming
    list(stream_reply(qwen38.chats, models, chat.id))
    received = qwen38.chats.get(chat.id).messages[-1].meta["prompt"]
    assert received == upcoming
    off = {**settings, "preserve_thinking": False, "reasoning_effort": ""}
    default = last_prompt(qwen38.chats, models, None, off)
    assert "Reasoning effort is set to xhigh" in default   # Qwen3.8's own default
    assert EARLIER_REASONING not in models.render_prompt(qwen38.chats.history(chat.id)[:3], thinking=True)


def test_the_compare_panel_passes_them_too(qwen38, monkeypatch):
    """Base and adapter both get the chat's switches (a recording wrapper around the real stream_chat)."""
    from tests.support.adapters import make_random_adapter

    make_random_adapter(qwen38.models.current.folder, qwen38.settings.data_dir / "adapters" / "probe", seed=1, rank=4,
                        scale=0.1)
    models, prompts = qwen38.models, []
    real = models.stream_chat

    def recording(*args, **kwargs):
        for event in real(*args, **kwargs):
            if event.kind == "done":
                prompts.append((kwargs.get("adapter"), event.prompt))
            yield event

    monkeypatch.setattr(models, "stream_chat", recording)
    settings = {**settings_from_controls(*controls(False, "low")), "params": GREEDY}
    list(compare_stream(qwen38, "probe", "hi", settings))
    assert [name for name, _ in prompts] == [None, "probe"]
    assert all("Reasoning effort is set to low" in prompt for _, prompt in prompts)
