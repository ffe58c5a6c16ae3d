"""Chat on an OpenAI-compatible engine (--engine-url): a second real Lorag (launch.py --api with SmolLM2 and one
adapter) is the engine. This studio lists its models, loads one, streams a chat reply through the same chat path
as in-process models, passes stop strings, stops on request, uses the engine's LoRA model for a Lorag adapter, and
says clearly when the engine refuses, is not there, or dies mid-answer (the text so far is kept). An adapter of this
studio that the engine does not list is loaded into it at runtime (vLLM's POST /v1/load_lora_adapter, which Lorag
serves too), or the engine's refusal is said.

The shared engine is killed in test_an_engine_that_dies_mid_answer... (tests run in file order): tests after it
must not use it (the API's variant starts an engine of its own)."""

from __future__ import annotations

import json

import pytest

from engine.adapters.meta import AdapterMeta
from engine.chat_turn import stream_reply
from engine.errors import LoragError
from engine.models.generation import GenerationParams
from engine.models.remote import EngineClient
from engine.settings import Settings
from engine.studio import Studio
from tests.support.adapters import make_random_adapter
from tests.support.studio_process import StudioProcess, free_port

pytestmark = pytest.mark.slow

KEY = "sk-engine-test-77"
BASE = "SmolLM2-135M-Instruct"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = {"temperature": 0, "max_new_tokens": 24}
HERE = ["late", "marseille", "only-here", "other-base"]   # this studio's adapters, as listed


@pytest.fixture(scope="module")
def engine(tmp_path_factory, smollm2_dir):
    data = tmp_path_factory.mktemp("engine") / "data"
    make_random_adapter(smollm2_dir, data / "adapters" / "marseille", base_label=BASE)
    make_random_adapter(smollm2_dir, data / "adapters" / "pirate", base_label=BASE, seed=3)   # on the engine only
    server = StudioProcess(data, args=["--no-weaviate", "--api", "--api-key", KEY, "--model", str(smollm2_dir),
                                       "--rate-limit", "0"]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def studio(tmp_path_factory, engine):
    data = tmp_path_factory.mktemp("client") / "data"
    made = Studio(Settings(data_dir=data, no_weaviate=True, engine_url=f"{engine.url}/v1", engine_key=KEY,
                           api=True, rate_limit=0))
    yield made
    made.close()


@pytest.fixture(scope="module")
def loaded(studio, smollm2_dir, tiny_qwen3):
    # The same adapter on disk here as on the engine: Lorag offers it because the engine serves it as a LoRA model.
    make_random_adapter(smollm2_dir, studio.settings.path("adapters", "marseille"), base_label=BASE)
    # Only here: the engine is asked to load them at runtime ("late" has marseille's weights; "other-base" was made
    # for another model, which the engine refuses).
    make_random_adapter(smollm2_dir, studio.settings.path("adapters", "only-here"), base_label=BASE, seed=2)
    make_random_adapter(smollm2_dir, studio.settings.path("adapters", "late"), base_label=BASE)
    make_random_adapter(tiny_qwen3, studio.settings.path("adapters", "other-base"), base_label="tiny-qwen3")
    return studio.models.load(f"engine:{BASE}")


def test_the_engine_models_are_listed_and_one_loads(studio, loaded):
    assert studio.models.engine_models() == [f"engine:{BASE}"]        # the engine's adapter is not a base model
    assert loaded.name == BASE and studio.models.current is loaded
    assert studio.models.summary() == f"{BASE} (on the engine at {studio.settings.engine_url})"


def test_the_models_tab_offers_the_engine_models(studio, loaded, tmp_path):
    from ui.i18n import say
    from ui.tabs.models import loaded_status
    from ui.tabs.models_engine import engine_choices

    offered = engine_choices(studio, visible=True)
    assert offered["choices"] == [(BASE, f"engine:{BASE}")] and offered["value"] == f"engine:{BASE}"
    assert loaded_status(studio).startswith(f"**Loaded:** {BASE} (on the engine at")
    alone = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    try:
        assert engine_choices(alone, visible=True)["info"] == say("models.engine_none", "en")
        assert "--engine-url" in say("models.engine_none", "en")
    finally:
        alone.close()


def test_a_chat_reply_streams_through_the_engine_and_is_saved(studio, loaded):
    chat = studio.chats.create(settings={"params": GenerationParams(**GREEDY).to_dict()})
    studio.chats.append(chat.id, "user", QUESTION[0]["content"])
    events = list(stream_reply(studio.chats, studio.models, chat.id, request_id="page-1"))
    pieces = [e for e in events if e.kind == "answer"]
    done = events[-1]
    assert len(pieces) > 3 and done.kind == "done"                     # streamed token by token, not in one piece
    assert "Paris" in done.answer and done.answer == "".join(p.delta for p in pieces).strip()
    assert done.stats.completion_tokens > 0 and done.stats.prompt_tokens > 0 and done.stats.model == BASE
    saved = studio.chats.get(chat.id).messages[-1]
    assert saved.role == "assistant" and saved.content == done.answer and saved.meta["finish_reason"] == "eos"


def test_stop_strings_and_sampling_go_to_the_engine(studio, loaded):
    whole = _answer(studio, GenerationParams(**GREEDY))
    assert "Paris" in whole
    cut = _answer(studio, GenerationParams(**GREEDY, stop=["Paris"]))
    assert cut == whole[:whole.index("Paris")].strip() and cut


def test_the_notebook_continues_a_text_on_the_engine(studio, loaded):
    events = list(studio.models.stream_completion("The capital of France is", GenerationParams(**GREEDY)))
    done = events[-1]
    assert "Paris" in done.answer and done.answer == "".join(e.delta for e in events[:-1])   # kept exactly
    assert done.stats.finish_reason in ("eos", "length") and done.stats.completion_tokens > 0


def test_stop_ends_the_stream(studio, loaded):
    stream = studio.models.stream_chat(QUESTION, GenerationParams(temperature=0, max_new_tokens=200),
                                       request_id="page-2")
    first = next(e for e in stream if e.kind == "answer")
    assert studio.models.stop("page-2")
    rest = list(stream)
    assert rest[-1].kind == "done" and rest[-1].stats.finish_reason == "stopped"
    assert rest[-1].answer.startswith(first.answer.strip())


def test_stop_hangs_up_at_once_while_the_engine_sends_nothing(studio, loaded, engine):
    """The engine (one model, requests in line) is busy with a long reply, so this studio's request waits there and
    gets no chunk; Stop still ends it at once, and the engine is told (its long reply goes on)."""
    import threading
    import time

    import httpx

    busy_body = {"model": BASE, "messages": [{"role": "user", "content": "Write a long story about a dragon."}],
                 "temperature": 0, "max_tokens": 400, "stream": True}
    busy_chunks, busy_done = [], threading.Event()

    def keep_engine_busy():
        with httpx.stream("POST", f"{engine.url}/v1/chat/completions", json=busy_body, timeout=120,
                          headers={"Authorization": f"Bearer {KEY}"}) as response:
            for line in response.iter_lines():
                busy_chunks.append(line)
                if busy_done.is_set():
                    return

    busy = threading.Thread(target=keep_engine_busy, daemon=True)
    busy.start()
    _wait_for(lambda: len([c for c in busy_chunks if '"content"' in c]) > 3)   # the engine is generating it
    events, waiting = [], threading.Thread(target=lambda: events.extend(studio.models.stream_chat(
        QUESTION, GenerationParams(**GREEDY), request_id="page-9")), daemon=True)
    waiting.start()
    time.sleep(1.0)                                                   # it reached the engine and waits in line
    assert not [e for e in events if e.kind == "answer"]
    started = time.monotonic()
    assert studio.models.stop("page-9")
    waiting.join(10)
    stopped_in = time.monotonic() - started
    try:
        assert not waiting.is_alive() and stopped_in < 1.5, stopped_in
        assert events[-1].kind == "done" and events[-1].stats.finish_reason == "stopped" and not events[-1].answer
        assert busy.is_alive()                                        # the long reply is still being written
    finally:
        busy_done.set()
        busy.join(60)


def test_an_adapter_runs_as_the_engines_lora_model(studio, loaded):
    assert studio.adapters.check("marseille") == ""
    done = list(studio.models.stream_chat(QUESTION, GenerationParams(**GREEDY), adapter="marseille"))[-1]
    assert done.stats.adapter == "marseille" and done.answer
    assert done.answer != _answer(studio, GenerationParams(**GREEDY))   # the engine ran the adapter, not the base


def test_the_engines_own_lora_models_are_offered_as_adapters(studio, loaded):
    # pirate lives on the engine only; the others here are offered as the engine may load them at runtime
    assert studio.adapters.names() == [*HERE, "pirate"]
    assert studio.adapters.check("pirate") == ""
    done = list(studio.models.stream_chat(QUESTION, GenerationParams(**GREEDY), adapter="pirate"))[-1]
    assert done.stats.adapter == "pirate" and done.stats.model == f"{BASE}@pirate"


def test_this_studios_api_answers_from_the_engine(studio, loaded):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from engine.api.mount import api_routes

    with TestClient(Starlette(routes=api_routes(studio))) as http:
        listed = [m["id"] for m in http.get("/v1/models").json()["data"]]
        assert listed == [BASE, *(f"{BASE}@{name}" for name in [*HERE, "pirate"])]
        body = {"model": BASE, "messages": QUESTION, "temperature": 0, "max_tokens": 24, "stream": True}
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert lines[-1] == "data: [DONE]" and len(chunks) > 4 and "Paris" in text


def test_an_adapter_the_engine_lacks_is_loaded_into_it_at_runtime(studio, loaded, engine):
    client = EngineClient(engine.url, KEY)
    assert f"{BASE}@late" not in _served(client) and studio.adapters.check("late") == ""
    late = list(studio.models.stream_chat(QUESTION, GenerationParams(**GREEDY), adapter="late"))[-1]
    marseille = list(studio.models.stream_chat(QUESTION, GenerationParams(**GREEDY), adapter="marseille"))[-1]
    assert late.stats.model == f"{BASE}@late" and late.stats.adapter == "late"
    assert late.answer == marseille.answer                             # the same weights: the same reply
    assert late.answer != _answer(studio, GenerationParams(**GREEDY))  # and not the base's
    assert _served(client)[f"{BASE}@late"] == BASE
    on_engine = engine.data_dir / "adapters" / "late"
    assert AdapterMeta.load(on_engine).source == "runtime-loaded"
    assert studio.adapters.activate("only-here") > 0                   # the Adapters tab's "load" asks the engine too
    only_here = list(studio.models.stream_chat(QUESTION, GenerationParams(**GREEDY), adapter="only-here"))[-1]
    assert only_here.stats.model == f"{BASE}@only-here" and only_here.answer not in (late.answer, "")
    assert studio.adapters.unload("late")                              # this studio loaded it: the engine unloads it
    assert f"{BASE}@late" not in _served(client) and not on_engine.exists()
    assert studio.settings.path("adapters", "late").is_dir()           # this studio's own copy stays
    assert not studio.adapters.unload("marseille")                     # the engine's own LoRA model stays
    assert f"{BASE}@marseille" in _served(client)


def test_an_engine_that_refuses_to_load_an_adapter_says_so(studio, loaded, engine):
    refused = r"does not serve this adapter and refused to load it at runtime \(HTTP 400: .*was made for tiny-qwen3"
    with pytest.raises(LoragError, match=refused):
        list(studio.models.stream_chat(QUESTION, GenerationParams(**GREEDY), adapter="other-base"))
    problem = studio.adapters.check("other-base")
    assert "refused to load it at runtime" in problem and "--lora-modules other-base=PATH" in problem
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True" in problem
    assert "other-base" not in studio.adapters.names()                  # no longer offered
    assert not (engine.data_dir / "adapters" / "other-base").exists()   # the engine kept nothing of it


def test_lorag_serves_vllms_runtime_lora_endpoints(engine, smollm2_dir, tmp_path):
    import httpx

    folder = make_random_adapter(smollm2_dir, tmp_path / "elsewhere" / "runtime-one", base_label=BASE, seed=5)
    url, auth = f"{engine.url}/v1", {"Authorization": f"Bearer {KEY}"}
    body = {"lora_name": "runtime-one", "lora_path": str(folder)}

    def post(path, payload, headers=auth):
        return httpx.post(url + path, json=payload, headers=headers, timeout=60)

    assert post("/load_lora_adapter", body, headers={}).status_code == 401        # the API's credentials
    for path, why in ((str(tmp_path / "nowhere"), "There is no adapter folder"),
                      ("elsewhere/runtime-one", "There is no adapter folder"),
                      (str(tmp_path), "is not a LoRA adapter")):
        answer = post("/load_lora_adapter", {**body, "lora_path": path})
        assert answer.status_code == 400 and why in answer.json()["error"]["message"], answer.text
    assert post("/load_lora_adapter", {"lora_path": str(folder)}).json()["error"]["message"] == \
        "'lora_name' is required."
    loaded = post("/load_lora_adapter", body)
    assert loaded.status_code == 200 and loaded.text == "Success: LoRA adapter 'runtime-one' added successfully."
    client = EngineClient(engine.url, KEY)
    assert _served(client)[f"{BASE}@runtime-one"] == BASE
    again = post("/load_lora_adapter", body)
    assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
    chat = post("/chat/completions", {"model": f"{BASE}@runtime-one", "messages": QUESTION, "max_tokens": 8,
                                      "temperature": 0})
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"]
    kept = post("/unload_lora_adapter", {"lora_name": "marseille"})
    assert kept.status_code == 400 and "was not loaded through the API" in kept.json()["error"]["message"]
    gone = post("/unload_lora_adapter", {"lora_name": "runtime-one"})
    assert gone.status_code == 200 and "removed successfully" in gone.text
    assert f"{BASE}@runtime-one" not in _served(client) and f"{BASE}@marseille" in _served(client)
    assert post("/unload_lora_adapter", {"lora_name": "runtime-one"}).status_code == 404


def test_continuing_a_reply_on_the_engine_is_refused_clearly(studio, loaded):
    messages = [*QUESTION, {"role": "assistant", "content": "The capital"}]
    with pytest.raises(LoragError, match="Continuing a reply is not available on an engine model"):
        list(studio.models.stream_chat(messages, GenerationParams(**GREEDY), continue_final=True))


def test_what_needs_the_weights_here_says_the_model_is_on_the_engine(studio, loaded):
    with pytest.raises(LoragError, match="runs on the engine at .*needs a model that Lorag runs itself"):
        studio.models.render_prompt(QUESTION)


def test_an_engine_that_refuses_says_why(engine):
    with pytest.raises(LoragError, match=r"refused the request \(HTTP 401\)"):
        EngineClient(engine.url).models()                            # no key
    client = EngineClient(engine.url, KEY)
    with pytest.raises(LoragError, match=r"refused the request \(HTTP 404\).*does not exist"):
        list(client.stream_chat("no-such-model", QUESTION, GenerationParams(**GREEDY), _never()))


def test_an_engine_that_is_not_there_says_so(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(LoragError, match=f"The engine at {url} is not reachable.*--engine-url"):
        EngineClient(url).models()
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True, engine_url=url))
    try:
        with pytest.raises(LoragError, match="is not reachable"):
            studio.models.load(f"engine:{BASE}")
        assert studio.models.current is None
        from ui.tabs.models_engine import engine_choices

        assert "is not reachable" in engine_choices(studio, visible=True)["info"]
    finally:
        studio.close()


def test_an_engine_that_dies_mid_answer_keeps_the_text_and_says_it_was_cut(studio, loaded, engine):
    """It kills the shared engine: only tests with their own engine may follow."""
    story = [{"role": "user", "content": "Write a long story about a dragon who learns to cook."}]
    chat = studio.chats.create(settings={"params": GenerationParams(temperature=0, max_new_tokens=400).to_dict()})
    studio.chats.append(chat.id, "user", story[0]["content"])
    events = []
    with pytest.raises(LoragError, match="stopped answering in the middle of the reply.*characters it sent are kept"):
        for event in stream_reply(studio.chats, studio.models, chat.id, request_id="page-3"):
            events.append(event)
            if len([e for e in events if e.kind == "answer"]) == 5:
                engine.kill()
    done = events[-1]
    assert done.kind == "done" and done.stats.finish_reason == "cut" and done.answer
    assert "cut off: the engine stopped answering" in done.stats.summary()
    saved = studio.chats.get(chat.id).messages[-1]
    assert saved.role == "assistant" and saved.content == done.answer and saved.meta["finish_reason"] == "cut"


def test_an_engine_that_dies_under_the_api_ends_the_stream_with_an_error(tmp_path, smollm2_dir):
    doomed = StudioProcess(tmp_path / "engine", args=["--no-weaviate", "--api", "--model", str(smollm2_dir)]).start()
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True, engine_url=doomed.url, api=True,
                             rate_limit=0))
    try:
        studio.models.load(f"engine:{BASE}")
        lines = _api_stream_killing(studio, doomed)
    finally:
        doomed.kill()
        studio.close()
    assert lines[-1] == "data: [DONE]"
    error = json.loads(lines[-2][6:])["error"]
    assert "stopped answering in the middle of the reply" in error["message"]
    text = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in lines[1:-2])
    assert text                                                      # what came before the cut was sent


def _api_stream_killing(studio: Studio, doomed: StudioProcess) -> list[str]:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from engine.api.mount import api_routes

    body = {"model": BASE, "messages": [{"role": "user", "content": "Write a long story about a brave dragon."}],
            "temperature": 0, "max_tokens": 400, "stream": True}
    lines: list[str] = []
    with TestClient(Starlette(routes=api_routes(studio))) as http, \
            http.stream("POST", "/v1/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                lines.append(line)
            if len(lines) == 6:
                doomed.kill()
    return lines


def _wait_for(condition, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _served(client: EngineClient) -> dict[str, str]:
    """The engine's models: id -> parent ('' for a base)."""
    return {m.id: m.parent for m in client.models()}


def _answer(studio: Studio, params: GenerationParams) -> str:
    return list(studio.models.stream_chat(QUESTION, params))[-1].answer


def _never():
    import threading

    return threading.Event()
