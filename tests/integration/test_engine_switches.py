"""The thinking switches reach an OpenAI-compatible engine (--engine-url) as `chat_template_kwargs`: a second real
Lorag (launch.py --api) serves a tiny random Qwen3 with the real Qwen3.8 chat template (enable_thinking,
preserve_thinking, reasoning_effort), and this studio chats on it. What the engine applied is seen in its replies:
the prompt it counted is exactly the template rendered with the switches this studio set (and with the template's
defaults for those it did not set), and with thinking on the engine's reply comes as reasoning."""

from __future__ import annotations

import json

import pytest

from engine.errors import LoragError
from engine.models.generation import GenerationParams
from engine.models.thinking import history_for_template, template_kwargs
from engine.settings import Settings
from engine.studio import Studio
from tests.conftest import SHARED, need_shared
from tests.support.studio_process import StudioProcess
from tests.support.tiny_models import build_tiny_qwen

pytestmark = pytest.mark.slow

KEY = "sk-switches-test-5"
MODEL = "tiny-qwen38"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
EARLIER = "the user greets me, so I greet back"
HISTORY = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there", "reasoning": EARLIER},
           {"role": "user", "content": "how are you?"}]
GREEDY = GenerationParams(temperature=0, max_new_tokens=6)


@pytest.fixture(scope="module")
def tiny_qwen38(tmp_path_factory):
    need_shared("fixtures", "qwen2-tokenizer")
    return build_tiny_qwen(tmp_path_factory.mktemp("models") / MODEL, arch="qwen3", shared=SHARED, template="qwen3_8")


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen38):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen38)


@pytest.fixture(scope="module")
def engine(tmp_path_factory, tiny_qwen38):
    data = tmp_path_factory.mktemp("qwen38-engine") / "data"
    server = StudioProcess(data, args=["--no-weaviate", "--api", "--api-key", KEY, "--model", str(tiny_qwen38),
                                       "--rate-limit", "0"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def studio(tmp_path_factory, engine):
    made = Studio(Settings(data_dir=tmp_path_factory.mktemp("switches-client") / "data", no_weaviate=True,
                           engine_url=f"{engine.url}/v1", engine_key=KEY, api=True, rate_limit=0))
    made.models.load(f"engine:{MODEL}")
    yield made
    made.close()


def rendered_tokens(tokenizer, messages, thinking=None, preserve=False, effort="") -> int:
    """The prompt's length as the engine renders it (Lorag's own path: engine.models.service._render)."""
    prompt = tokenizer.apply_chat_template(history_for_template(messages, preserve), tokenize=False,
                                           add_generation_prompt=True,
                                           **template_kwargs(tokenizer, thinking, preserve, effort))
    return len(tokenizer(prompt, add_special_tokens=False)["input_ids"])


def reply(studio, messages=QUESTION, **switches):
    return list(studio.models.stream_chat(messages, GREEDY, **switches))[-1]


def test_the_engine_says_how_its_model_thinks(studio):
    current = studio.models.current
    assert current.thinking == "switchable"
    assert current.switches == ["enable_thinking", "preserve_thinking", "reasoning_effort"]


def test_thinking_on_and_off_reach_the_engine(studio, tokenizer):
    off = reply(studio, thinking=False)
    on = reply(studio, thinking=True)
    assert off.stats.prompt_tokens == rendered_tokens(tokenizer, QUESTION, thinking=False)
    assert on.stats.prompt_tokens == rendered_tokens(tokenizer, QUESTION, thinking=True)
    assert off.stats.prompt_tokens != on.stats.prompt_tokens       # the engine rendered two different prompts
    assert off.answer and not off.reasoning                          # the engine's prompt did not open <think>
    assert on.reasoning and not on.answer                            # it did: the tiny model's text is reasoning


def test_what_is_not_set_is_left_to_the_engines_template(studio, tokenizer):
    default = reply(studio)                                          # Qwen3.8's template thinks by default
    assert default.stats.prompt_tokens == rendered_tokens(tokenizer, QUESTION)
    assert default.stats.prompt_tokens == rendered_tokens(tokenizer, QUESTION, thinking=True)
    assert default.reasoning and not default.answer


def test_preserve_thinking_sends_the_earlier_reasoning_along(studio, tokenizer):
    kept = reply(studio, HISTORY, thinking=False, preserve_thinking=True)
    dropped = reply(studio, HISTORY, thinking=False)
    assert kept.stats.prompt_tokens == rendered_tokens(tokenizer, HISTORY, thinking=False, preserve=True)
    assert dropped.stats.prompt_tokens == rendered_tokens(tokenizer, HISTORY, thinking=False)
    assert kept.stats.prompt_tokens > dropped.stats.prompt_tokens   # the earlier reasoning is in the prompt


def test_reasoning_effort_reaches_the_engine(studio, tokenizer):
    low = reply(studio, thinking=True, reasoning_effort="low")
    assert low.stats.prompt_tokens == rendered_tokens(tokenizer, QUESTION, thinking=True, effort="low")
    assert low.stats.prompt_tokens != rendered_tokens(tokenizer, QUESTION, thinking=True)   # not the default's
    with pytest.raises(LoragError, match="Unknown reasoning effort 'max'"):
        reply(studio, reasoning_effort="max")                         # refused here, before the engine is asked


def test_a_chat_with_thinking_off_asks_the_engine_so(studio, tokenizer):
    from engine.chat_turn import stream_reply

    chat = studio.chats.create(settings={"params": GREEDY.to_dict(), "thinking": False})
    studio.chats.append(chat.id, "user", QUESTION[0]["content"])
    done = list(stream_reply(studio.chats, studio.models, chat.id, request_id="switches-1"))[-1]
    assert done.stats.prompt_tokens == rendered_tokens(tokenizer, QUESTION, thinking=False)
    assert done.answer and not done.reasoning


def test_this_studios_api_passes_chat_template_kwargs_on(studio, tokenizer):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from engine.api.mount import api_routes

    def usage(body):
        body = {"model": MODEL, "temperature": 0, "max_tokens": 6, **body}
        response = http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    with TestClient(Starlette(routes=api_routes(studio))) as http:
        off = usage({"messages": QUESTION, "chat_template_kwargs": {"enable_thinking": False}})
        kept = usage({"messages": [{"role": m["role"], "content": m["content"],
                                    **({"reasoning_content": m["reasoning"]} if "reasoning" in m else {})}
                                   for m in HISTORY],
                      "chat_template_kwargs": {"enable_thinking": False, "preserve_thinking": True}})
        default = usage({"messages": QUESTION})
    assert off["usage"]["prompt_tokens"] == rendered_tokens(tokenizer, QUESTION, thinking=False)
    assert off["choices"][0]["message"]["content"]
    assert kept["usage"]["prompt_tokens"] == rendered_tokens(tokenizer, HISTORY, thinking=False, preserve=True)
    assert default["usage"]["prompt_tokens"] == rendered_tokens(tokenizer, QUESTION, thinking=True)
    assert json.dumps(default)                                        # a plain OpenAI answer


def test_a_switch_the_engines_template_lacks_is_refused_by_the_engine(tmp_path, tiny_qwen38):
    """On a Qwen3.6 template (no reasoning effort) the engine answers 400, and this studio says why."""
    from tests.support.tiny_models import trl_template

    folder = tmp_path / "tiny-qwen36"
    build_tiny_qwen(folder, arch="qwen3", shared=SHARED, template="qwen3_6")
    assert "reasoning_effort" not in trl_template("qwen3_6")
    server = StudioProcess(tmp_path / "engine", args=["--no-weaviate", "--api", "--model", str(folder)]).start()
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True, engine_url=server.url, rate_limit=0))
    try:
        studio.models.load("engine:tiny-qwen36")
        with pytest.raises(LoragError, match=r"refused the request \(HTTP 400\).*no reasoning effort switch"):
            reply(studio, reasoning_effort="low")
        assert reply(studio, thinking=False).answer                     # the other switches still work there
    finally:
        studio.close()
        server.stop()
