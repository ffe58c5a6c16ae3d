"""The API's parts without a model: credentials, the rate limit, request parsing, stop-string hold-back, chunks."""

from __future__ import annotations

import base64
import json

import pytest

from engine.access import AccessPlan
from engine.api.auth import ANONYMOUS, API_KEY, LOGIN, authenticate
from engine.api.errors import ApiError
from engine.api.format import DONE_LINE, Reply, sse
from engine.api.schemas import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, parse_body
from engine.api.streaming import StopHoldback
from engine.models.generation import GenerationStats
from engine.ratelimit import RateLimited, RateLimiter, person_key

LOGINS = AccessPlan(users={"ann": "pw-a", "bob": "pw:b"})


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- credentials ----------------------------------------------------------------------------------------
def test_open_on_loopback_without_key_or_logins_whatever_key_the_client_sends():
    for header in (None, "", "Bearer EMPTY", "Bearer sk-no-key", "Basic !!!"):
        assert authenticate(header, AccessPlan(), "").kind == ANONYMOUS


def test_api_key_required_when_set():
    assert authenticate("Bearer k-123", AccessPlan(), "k-123").kind == API_KEY
    assert authenticate("bearer   k-123 ", AccessPlan(), "k-123").kind == API_KEY
    for header in (None, "Bearer k-124", "Bearer ", "k-123", basic("ann", "pw-a")):
        with pytest.raises(ApiError) as err:
            authenticate(header, AccessPlan(), "k-123")
        assert err.value.status == 401 and err.value.code == "invalid_api_key"
        assert "Bearer" in err.value.headers["WWW-Authenticate"]


def test_logins_accepted_as_basic_or_as_bearer_pair_and_refused_otherwise():
    ann = authenticate(basic("ann", "pw-a"), LOGINS, "")
    assert (ann.kind, ann.name, ann.owner) == (LOGIN, "ann", "ann")
    assert authenticate("Bearer bob:pw:b", LOGINS, "").name == "bob"      # password holding a colon
    with pytest.raises(ApiError, match="needs credentials.*login"):
        authenticate(None, LOGINS, "")
    for header in (basic("ann", "wrong"), basic("eve", "pw-a"), "Bearer ann:wrong", "Basic not-base64!",
                   "Bearer EMPTY"):
        with pytest.raises(ApiError, match="Incorrect"):
            authenticate(header, LOGINS, "")
    # both: the key or a login
    assert authenticate("Bearer key", LOGINS, "key").kind == API_KEY
    assert authenticate(basic("ann", "pw-a"), LOGINS, "key").name == "ann"


def test_rate_keys_separate_people():
    assert authenticate(basic("ann", "pw-a"), LOGINS, "").rate_key("1.2.3.4") == person_key("ann", "9.9.9.9")
    assert authenticate(None, AccessPlan(), "").rate_key("1.2.3.4") == "ip:1.2.3.4"
    assert authenticate("Bearer k", AccessPlan(), "k").rate_key("1.2.3.4") == "api-key"


# --- rate limit -------------------------------------------------------------------------------------------
def test_rate_limit_is_a_sliding_minute_per_person():
    now = [1000.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    for _ in range(3):
        limiter.check("ann")
    limiter.check("bob")                         # another person has their own budget
    with pytest.raises(RateLimited) as err:
        limiter.check("ann")
    assert err.value.retry_after == 60 and "3 generations per minute" in str(err.value)
    assert "Try again in 60 s" in str(err.value)
    now[0] += 30
    with pytest.raises(RateLimited) as err:      # refused requests do not count
        limiter.check("ann")
    assert err.value.retry_after == 30
    now[0] += 30.01
    limiter.check("ann")
    assert limiter.remaining("ann") == 2 and limiter.remaining("bob") == 3  # the first ones left the window


def test_rate_limit_zero_is_off():
    limiter = RateLimiter(0)
    for _ in range(1000):
        limiter.check("ann")
    assert not limiter.enabled


# --- request bodies ---------------------------------------------------------------------------------------
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("raw, message", [
    (b"", "body is empty"),
    (b"{not json", "not valid JSON"),
    (b'{"model": "m",}', "not valid JSON"),
    (b"\xff\xfe\x00", "not UTF-8"),
    (b"[1, 2]", "must be a JSON object"),
    (b'"text"', "must be a JSON object"),
])
def test_malformed_bodies_are_refused_clearly(raw, message):
    with pytest.raises(ApiError, match=message) as err:
        parse_body(raw, ChatCompletionRequest)
    assert err.value.status == 400 and err.value.code == "invalid_json"


@pytest.mark.parametrize("change, param, message", [
    ({"model": None}, "model", "Invalid 'model'"),
    ({"messages": []}, "messages", "at least 1"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role", "Invalid"),
    ({"temperature": 3}, "temperature", "less than or equal to 2"),
    ({"top_p": 0}, "top_p", "greater than 0"),
    ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
    ({"n": 2}, "n", "less than or equal to 1"),
    ({"stop": ["x"] * 17}, "stop", "at most 16"),
    ({"tools": [{"type": "function"}]}, "tools", "not supported"),
    ({"logprobs": True}, "logprobs", "not supported"),
    ({"response_format": {"type": "json_object"}}, "response_format", "text"),
    ({"lorag": {"collection": "c", "k": 0}}, "lorag.k", "greater than or equal to 1"),
])
def test_wrong_fields_name_the_field(change, param, message):
    body = {**CHAT, **change}
    with pytest.raises(ApiError, match=message) as err:
        parse_body(json.dumps(body).encode(), ChatCompletionRequest)
    assert err.value.status == 400 and err.value.param == param


def test_missing_field_is_named():
    with pytest.raises(ApiError, match="'messages' is required"):
        parse_body(b'{"model": "m"}', ChatCompletionRequest)


def test_good_bodies_keep_what_lorag_understands():
    body = parse_body(json.dumps({**CHAT, "stop": "END", "max_completion_tokens": 7, "user": "x", "unknown": 1,
                                  "chat_template_kwargs": {"enable_thinking": False},
                                  "messages": [{"role": "developer", "content": [{"type": "text", "text": "a"},
                                                                                 {"type": "text", "text": "b"}]}]}
                                 ).encode(), ChatCompletionRequest)
    assert body.stop == ["END"] and body.wanted_tokens == 7 and body.thinking is False
    assert body.messages[0].text() == "ab"
    image = parse_body(json.dumps({**CHAT, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "x"}}]}]}).encode(), ChatCompletionRequest)
    with pytest.raises(ApiError, match="image_url"):
        image.messages[0].text()
    completion = parse_body(b'{"model": "m", "prompt": ["one"]}', CompletionRequest)
    assert completion.prompt == "one" and completion.wanted_tokens == 16
    with pytest.raises(ApiError, match="one prompt"):
        parse_body(b'{"model": "m", "prompt": ["a", "b"]}', CompletionRequest)
    with pytest.raises(ApiError, match="not token ids"):
        parse_body(b'{"model": "m", "input": [[1, 2]]}', EmbeddingRequest)
    assert parse_body(b'{"model": "m", "input": "x"}', EmbeddingRequest).texts == ["x"]


# --- stop strings never leak into a stream ------------------------------------------------------------------
def test_stop_holdback_sends_nothing_of_a_stop_string():
    hold = StopHoldback(["END", "\n\n"])
    sent = [hold.push(text) for text in ["Hel", "Hello E", "Hello EN", "Hello ENX", "Hello ENX\n", "Hello ENX\n\nmore"]]
    assert "".join(sent) == "Hello ENX"
    assert sent[1] == "lo " and sent[3] == "ENX"
    assert hold.finish("Hello ENX") == ""
    plain = StopHoldback([])
    assert plain.push("abc") == "abc" and plain.push("abcd") == "d" and plain.finish("abcde") == "e"


def test_chat_chunks_follow_openais_shape():
    reply = Reply("base@pirate")
    first = reply.chat_chunk({"role": "assistant", "content": ""}, with_usage_field=True)
    assert set(first) == {"id", "object", "created", "model", "system_fingerprint", "choices", "usage"}
    assert first["object"] == "chat.completion.chunk" and first["id"].startswith("chatcmpl-")
    assert first["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                 "finish_reason": None}]
    usage = reply.usage_chunk(GenerationStats(prompt_tokens=3, completion_tokens=4))
    assert usage["choices"] == [] and usage["usage"] == {"prompt_tokens": 3, "completion_tokens": 4,
                                                         "total_tokens": 7}
    line = sse(first)
    assert line.startswith("data: {") and line.endswith("}\n\n") and json.loads(line[6:]) == first
    assert DONE_LINE == "data: [DONE]\n\n"
    done = reply.chat_completion("Hi", "", GenerationStats(finish_reason="length"))
    assert done["object"] == "chat.completion" and done["choices"][0]["finish_reason"] == "length"
