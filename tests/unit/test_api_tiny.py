"""The /v1 API on a real (tiny, random) Qwen3 with a real LoRA adapter, in process: OpenAI's shapes, streaming
chunk by chunk, stop strings, adapters chosen through `model`, the official `openai` client, and every refusal
in OpenAI's error shape with the right status."""

from __future__ import annotations

import json

import openai
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from engine.access import AccessPlan
from engine.api.mount import api_routes
from engine.settings import Settings
from engine.studio import Studio
from tests.support.adapters import make_random_adapter

KEY = "test-key-123"


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_qwen3):
    data = tmp_path_factory.mktemp("api-tiny") / "data"
    studio = Studio(Settings(data_dir=data, no_weaviate=True, api=True, rate_limit=1000, api_max_tokens=64))
    make_random_adapter(tiny_qwen3, data / "adapters" / "pirate", seed=3, scale=3.0)
    studio.models.load(str(tiny_qwen3))
    yield studio
    studio.close()


@pytest.fixture
def client(studio):
    studio.settings.api_key = ""
    studio.access = AccessPlan()
    with TestClient(Starlette(routes=api_routes(studio))) as http:
        yield http


@pytest.fixture
def base(studio) -> str:
    return studio.models.current.name


def chat_body(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": "What is two plus two?"}],
            "temperature": 0, "max_tokens": 12, "repetition_penalty": 1.5, **extra}


def for_client(body: dict) -> dict:
    """The same request through the openai client: vendor fields (vLLM's repetition_penalty) go in extra_body."""
    body = dict(body)
    extra = {"repetition_penalty": body.pop("repetition_penalty")}
    return {**body, "extra_body": extra}


def events(response) -> list:
    """The SSE data lines of a streamed response, JSON-decoded (the last one is the literal [DONE])."""
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in response.text.split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line[6:]) for line in lines[:-1]]


def test_models_lists_the_base_and_its_adapters(client, base):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [base, f"{base}@pirate"]
    assert all(m["object"] == "model" and m["owned_by"] == "lorag" for m in body["data"])
    assert client.get(f"/v1/models/{base}@pirate").json()["id"] == f"{base}@pirate"
    assert client.get("/v1/models/nope").status_code == 404


def test_chat_completion_and_its_stream_agree(client, base):
    plain = client.post("/v1/chat/completions", json=chat_body(base)).json()
    assert plain["object"] == "chat.completion" and plain["id"].startswith("chatcmpl-") and plain["model"] == base
    choice = plain["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] == "length"                       # 12 tokens of a random model
    assert plain["usage"]["completion_tokens"] == 12 and plain["usage"]["prompt_tokens"] > 10
    assert plain["usage"]["total_tokens"] == plain["usage"]["prompt_tokens"] + 12

    streamed = events(client.post("/v1/chat/completions", json=chat_body(
        base, stream=True, stream_options={"include_usage": True})))
    first, *middle, finish, usage = streamed
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == first["id"] for c in streamed)
    assert all(set(c["choices"][0]["delta"]) == {"content"} for c in middle) and len(middle) >= 3
    assert finish["choices"][0]["delta"] == {} and finish["choices"][0]["finish_reason"] == "length"
    assert usage["choices"] == [] and usage["usage"] == plain["usage"]
    assert all(c["usage"] is None for c in streamed[:-1])
    text = "".join(c["choices"][0]["delta"]["content"] for c in middle)
    assert text.rstrip() == choice["message"]["content"]


def test_model_chooses_the_adapter(client, base):
    with_base = client.post("/v1/chat/completions", json=chat_body(base)).json()
    with_adapter = client.post("/v1/chat/completions", json=chat_body(f"{base}@pirate")).json()
    assert with_adapter["model"] == f"{base}@pirate"
    assert with_adapter["choices"][0]["message"]["content"] != with_base["choices"][0]["message"]["content"]
    again = client.post("/v1/chat/completions", json=chat_body(base)).json()     # back to the clean base
    assert again["choices"][0]["message"]["content"] == with_base["choices"][0]["message"]["content"]


def test_stop_strings_end_the_answer_and_never_stream(client, base):
    full = client.post("/v1/chat/completions", json=chat_body(base, max_tokens=20)).json()
    text = full["choices"][0]["message"]["content"]
    stop = text[len(text) // 2:len(text) // 2 + 3]
    assert len(stop) == 3
    cut = client.post("/v1/chat/completions", json=chat_body(base, max_tokens=20, stop=[stop])).json()
    assert cut["choices"][0]["message"]["content"] == text[:text.find(stop)].rstrip()
    assert cut["choices"][0]["finish_reason"] == "stop"
    streamed = events(client.post("/v1/chat/completions", json=chat_body(base, max_tokens=20, stop=stop,
                                                                         stream=True)))
    sent = "".join(c["choices"][0]["delta"].get("content", "") for c in streamed)
    assert stop not in sent and sent.rstrip() == cut["choices"][0]["message"]["content"]


def test_text_completion_streams_and_echoes(client, base):
    body = {"model": base, "prompt": "The capital of France is", "max_tokens": 6, "temperature": 0,
            "repetition_penalty": 1.5}
    plain = client.post("/v1/completions", json=body).json()
    assert plain["object"] == "text_completion" and plain["id"].startswith("cmpl-")
    assert plain["usage"]["completion_tokens"] == 6
    streamed = events(client.post("/v1/completions", json={**body, "stream": True, "echo": True}))
    text = "".join(c["choices"][0]["text"] for c in streamed)
    assert text == "The capital of France is" + plain["choices"][0]["text"]
    assert streamed[-1]["choices"][0]["finish_reason"] == "length"


def test_the_openai_client_streams_lists_and_raises_the_right_errors(studio, client, base):
    studio.settings.api_key = KEY
    ai = openai.OpenAI(api_key=KEY, base_url="http://testserver/v1", http_client=client, max_retries=0)
    assert {m.id for m in ai.models.list()} == {base, f"{base}@pirate"}
    pieces, finish = [], None
    for chunk in ai.chat.completions.create(**for_client(chat_body(f"{base}@pirate", stream=True))):
        delta = chunk.choices[0].delta
        pieces.append(delta.content or "")
        finish = chunk.choices[0].finish_reason or finish
    assert "".join(pieces).strip() and finish == "length"
    reply = ai.chat.completions.create(**for_client(chat_body(f"{base}@pirate")))
    assert reply.choices[0].message.content == "".join(pieces).rstrip()
    with pytest.raises(openai.NotFoundError, match="does not exist here"):
        ai.chat.completions.create(**for_client(chat_body("gpt-4o")))
    with pytest.raises(openai.BadRequestError, match="at most 64 tokens"):
        ai.chat.completions.create(**for_client(chat_body(base, max_tokens=100_000)))
    wrong = openai.OpenAI(api_key="wrong", base_url="http://testserver/v1", http_client=client, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


def test_refusals_use_openais_error_shape(studio, client, base):
    def error(response, status):
        assert response.status_code == status, response.text
        body = response.json()
        assert set(body["error"]) == {"message", "type", "param", "code"}
        return body["error"]

    assert error(client.post("/v1/chat/completions", content=b"{oops"), 400)["code"] == "invalid_json"
    assert error(client.post("/v1/chat/completions", json={"model": base}), 400)["param"] == "messages"
    assert error(client.post("/v1/chat/completions", json=chat_body("x")), 404)["code"] == "model_not_found"
    traversal = error(client.post("/v1/chat/completions", json=chat_body(f"{base}@../../etc")), 404)
    assert "not allowed" in traversal["message"]
    assert error(client.post("/v1/chat/completions", json=chat_body(base, max_tokens=65)), 400)["param"] == \
        "max_tokens"
    assert error(client.get("/v1/nothing"), 404)["code"] == "unknown_url"
    assert error(client.get("/v1/chat/completions"), 405)["code"] == "method_not_allowed"
    big = client.post("/v1/chat/completions", content=b"x" * (9 * 1024 * 1024),
                      headers={"content-type": "application/json"})
    assert error(big, 413)["code"] == "request_too_large"


def test_credentials(studio, client, base):
    studio.settings.api_key = KEY
    assert client.get("/v1/models").status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    studio.settings.api_key = ""
    studio.access = AccessPlan(users={"ann": "pw"})
    refused = client.post("/v1/chat/completions", content=b"{oops")       # credentials are checked first
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/v1/models", auth=("ann", "pw")).status_code == 200
    assert client.get("/v1/models", auth=("ann", "no")).status_code == 401
    assert client.get("/v1/models", headers={"Authorization": "Bearer ann:pw"}).status_code == 200


def test_rate_limit_gives_429_with_retry_after(studio, client, base):
    from engine.ratelimit import RateLimiter

    studio.__dict__["limiter"] = RateLimiter(2)
    try:
        for _ in range(2):
            assert client.post("/v1/chat/completions", json=chat_body(base, max_tokens=2)).status_code == 200
        refused = client.post("/v1/chat/completions", json=chat_body(base, max_tokens=2, stream=True))
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert "2 generations per minute" in refused.json()["error"]["message"]
        assert client.get("/v1/models").status_code == 200              # listing is not generation
    finally:
        del studio.__dict__["limiter"]


def test_no_model_loaded_is_503(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True, api=True))
    with TestClient(Starlette(routes=api_routes(studio))) as http:
        assert http.get("/v1/models").json()["data"] == []
        response = http.post("/v1/chat/completions", json=chat_body("anything"))
        assert response.status_code == 503 and response.json()["error"]["code"] == "model_not_loaded"
    studio.close()


def test_api_off_without_the_flag(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    assert api_routes(studio) == []
    studio.settings.api_key = "k"                  # a key means the API is wanted
    assert len(api_routes(studio)) == 1
    studio.close()


def test_documents_without_weaviate_are_503(client, base):
    asked = client.post("/v1/chat/completions", json=chat_body(base, lorag={"collection": "papers"}))
    assert asked.status_code == 503 and "--no-weaviate" in asked.json()["error"]["message"]
    assert asked.json()["error"]["param"] == "lorag.collection"
    embedded = client.post("/v1/embeddings", json={"model": "papers", "input": "x"})
    assert embedded.status_code == 404 and "--no-weaviate" in embedded.json()["error"]["message"]


def test_reasoning_goes_to_reasoning_content_never_content(tmp_path, tiny_qwen3):
    from tests.conftest import need_shared
    from tests.unit.test_models_service import with_template

    folder = with_template(tiny_qwen3, tmp_path / "thinking-model",
                           need_shared("fixtures", "chat-templates", "qwen3_thinking_2507.jinja").read_text())
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True, api=True))
    studio.models.load(str(folder))
    body = chat_body(studio.models.current.name)
    with TestClient(Starlette(routes=api_routes(studio))) as http:
        message = http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]
        streamed = events(http.post("/v1/chat/completions", json={**body, "stream": True}))
    # A random model never closes </think>: everything it says is reasoning.
    assert message["reasoning_content"] and message["content"] == "" and "think>" not in message["reasoning_content"]
    deltas = [c["choices"][0]["delta"] for c in streamed[1:-1]]
    assert deltas and all(set(d) == {"reasoning_content"} for d in deltas)
    assert "".join(d["reasoning_content"] for d in deltas).strip() == message["reasoning_content"]
    studio.close()
