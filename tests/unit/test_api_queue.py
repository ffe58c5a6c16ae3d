"""API requests wait in the model's one line with the page's: a streaming request is told its place in SSE comments
while it waits, a non-streaming one past the limit is refused with Retry-After, and the line serves in order.
A real (tiny, random) Qwen3 in process; the model is kept busy by holding its turn."""

from __future__ import annotations

import threading
import time

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from engine.api.mount import api_routes
from engine.settings import Settings
from engine.studio import Studio


@pytest.fixture(scope="module")
def studio(tmp_path_factory, tiny_qwen3):
    data = tmp_path_factory.mktemp("api-queue") / "data"
    studio = Studio(Settings(data_dir=data, no_weaviate=True, api=True, rate_limit=1000, api_queue_limit=1))
    studio.models.load(str(tiny_qwen3))
    yield studio
    studio.close()


@pytest.fixture
def client(studio):
    with TestClient(Starlette(routes=api_routes(studio))) as http:
        yield http


def body(studio, **extra) -> dict:
    return {"model": studio.models.current.name, "messages": [{"role": "user", "content": "Two plus two?"}],
            "temperature": 0, "max_tokens": 6, **extra}


def busy(studio, seconds: float, holders: int = 1) -> list[threading.Thread]:
    """`holders` turns of the model taken in a row (the page's generations would be these), each for `seconds`."""
    taken = threading.Barrier(2)

    def hold(first: bool):
        with studio.models._turns.hold():
            if first:
                taken.wait(10)
            time.sleep(seconds)

    threads = [threading.Thread(target=hold, args=(n == 0,)) for n in range(holders)]
    threads[0].start()
    taken.wait(10)
    for thread in threads[1:]:
        thread.start()
    deadline = time.monotonic() + 10
    while studio.models._turns.length() < holders and time.monotonic() < deadline:
        time.sleep(0.01)
    return threads


def test_a_streaming_request_is_told_its_place_then_answered(studio, client):
    threads = busy(studio, 2.0)
    response = client.post("/v1/chat/completions", json=body(studio, stream=True))
    parts = [part for part in response.text.split("\n\n") if part]
    comments = [p for p in parts if p.startswith(":")]
    assert comments and comments[0].startswith(": queue 1 ahead of 2"), parts[:3]
    assert parts.index(comments[0]) < 2                                  # before any of the answer
    assert parts[-1] == "data: [DONE]" and any('"content"' in p for p in parts if p.startswith("data: {"))
    for thread in threads:
        thread.join(10)


def test_a_plain_request_waits_within_the_limit_and_is_refused_past_it(studio, client):
    threads = busy(studio, 1.5)                      # one ahead: within the limit of 1, so it waits
    answer = client.post("/v1/chat/completions", json=body(studio))
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]
    for thread in threads:
        thread.join(10)

    threads = busy(studio, 2.0, holders=2)          # two ahead: past the limit
    refused = client.post("/v1/chat/completions", json=body(studio))
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "queue_full" and int(refused.headers["Retry-After"]) >= 1
    assert "2 requests are ahead" in refused.json()["error"]["message"]
    deadline = time.monotonic() + 5                  # the refused request left the line
    while studio.models._turns.length() > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert studio.models._turns.length() <= 2
    for thread in threads:
        thread.join(10)


def test_the_page_and_the_api_are_served_in_the_order_they_came(studio, client):
    finished: list[str] = []
    threads = busy(studio, 1.5)

    def api():
        assert client.post("/v1/chat/completions", json=body(studio)).status_code == 200
        finished.append("api")

    def page():
        events = list(studio.models.stream_chat([{"role": "user", "content": "Hi"}]))
        assert events[-1].kind == "done" and all(e.kind != "queued" for e in events)  # the page never asked
        finished.append("page")

    callers = [threading.Thread(target=api), threading.Thread(target=page)]
    callers[0].start()
    deadline = time.monotonic() + 10
    while studio.models._turns.length() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    callers[1].start()
    for thread in threads + callers:
        thread.join(30)
    assert finished == ["api", "page"]


def test_a_chat_reply_waiting_behind_api_requests_shows_its_place_then_the_answer(studio):
    from ui.tabs.chat_view import stream_reply_view

    chat = studio.chats.create(settings={"params": {"max_new_tokens": 6, "temperature": 0}})
    studio.chats.append(chat.id, "user", "Two plus two?")
    threads = busy(studio, 1.5)                     # an API request holds the model
    steps = list(stream_reply_view(studio, chat.id, "new", "page-req-1"))
    waiting = [stats for _, stats in steps if stats.startswith("Waiting for the model")]
    assert waiting and waiting[0].startswith("Waiting for the model: 1 request(s) ahead"), [s for _, s in steps]
    shown = steps[0][0][-1]["content"]
    assert "Waiting for the model" in str(shown)
    saved = studio.chats.get(chat.id).messages
    assert [m.role for m in saved] == ["user", "assistant"] and saved[-1].content
    assert "Waiting" not in saved[-1].content                     # the place is shown, never saved
    for thread in threads:
        thread.join(10)
