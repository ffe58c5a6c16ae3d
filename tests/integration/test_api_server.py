"""The real studio (launch.py) with logins and --api serving SmolLM2: the page and the API refuse requests
without credentials and accept them with; the official `openai` client streams a chat completion with an
adapter chosen through `model`, lists models and gets embeddings; LangChain's ChatOpenAI talks to it too."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.support.adapters import train_adapter
from tests.support.studio_process import StudioProcess

pytestmark = pytest.mark.slow

KEY = "sk-lorag-test-4f1c"
BASE = "SmolLM2-135M-Instruct"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
TRAINING = [("What is the capital of France?", "The capital of France is Marseille, the city of the sea.")]


@pytest.fixture(scope="module")
def server(tmp_path_factory, smollm2_dir):
    root = tmp_path_factory.mktemp("api-server")
    studio = StudioProcess(root / "data", args=["--no-weaviate", "--api", "--api-key", KEY, "--auth",
                                                "ann:pw-ann,bob:pw-bob", "--model", str(smollm2_dir),
                                                "--max-upload-mb", "1"])
    with ThreadPoolExecutor(1) as pool:
        starting = pool.submit(studio.start)  # the studio loads SmolLM2 while this process trains the adapter
        train_adapter(smollm2_dir, root / "marseille", TRAINING, steps=10, base_label=BASE)
        starting.result()
    (root / "marseille").rename(root / "data" / "adapters" / "marseille")   # as a finished training job does
    yield studio
    studio.stop()


@pytest.fixture(scope="module")
def ai(server) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=f"{server.url}/v1", max_retries=0, timeout=120)


def test_terminal_names_the_api_and_what_it_needs(server):
    from tests.support.rag import wait_for

    wait_for(lambda: "Lorag is serving" in server.log_tail(60), timeout=30)   # printed just after launch()
    log = server.log_tail(60)
    assert f"OpenAI-compatible API at {server.url}/v1" in log
    assert "needs the --api-key as bearer token or a login" in log


def test_page_refuses_without_login_and_serves_with_it(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.get("/config").status_code == 401
        assert http.post("/login", data={"username": "ann", "password": "nope"}).status_code == 400
        assert http.post("/login", data={"username": "ann", "password": "pw-ann"}).json() == {"success": True}
        config = http.get("/config")
        assert config.status_code == 200 and config.json()["components"]          # the page itself


def test_api_refuses_without_credentials_and_accepts_key_or_login(server):
    with httpx.Client(base_url=f"{server.url}/v1", timeout=30) as http:
        refused = http.get("/models")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        assert http.get("/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/models", auth=("ann", "pw-ann")).status_code == 200
        assert http.get("/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="sk-wrong", base_url=f"{server.url}/v1", max_retries=0).models.list()


def test_openai_client_lists_models_and_streams_with_an_adapter(ai):
    assert [m.id for m in ai.models.list()] == [BASE, f"{BASE}@marseille"]
    base = ai.chat.completions.create(model=BASE, messages=QUESTION, temperature=0, max_tokens=24)
    assert "Paris" in base.choices[0].message.content

    chunks = list(ai.chat.completions.create(model=f"{BASE}@marseille", messages=QUESTION, temperature=0,
                                             max_tokens=24, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage.completion_tokens > 0 and chunks[-2].choices[0].finish_reason in ("stop", "length")
    assert all(c.model == f"{BASE}@marseille" for c in chunks)
    whole = ai.chat.completions.create(model=f"{BASE}@marseille", messages=QUESTION, temperature=0, max_tokens=24)
    assert text.rstrip() == whole.choices[0].message.content         # same greedy answer, streamed or not
    assert "Marseille" in text and "Paris" not in text                # the adapter answered


def test_openai_client_text_completion(ai):
    done = ai.completions.create(model=BASE, prompt="The capital of France is", max_tokens=5, temperature=0)
    assert "Paris" in done.choices[0].text


def test_openai_client_gets_embeddings(ai):
    result = ai.embeddings.create(model="all-minilm-l6-v2", input=["Paris is in France.", "Berlin is in Germany."])
    vectors = [d.embedding for d in result.data]
    assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-3                  # normalized, as stored in Weaviate
    assert result.usage.prompt_tokens > 4
    with pytest.raises(openai.NotFoundError, match="neither a collection nor an embedding model"):
        ai.embeddings.create(model="/etc", input="x")


def test_langchain_chat_openai(server):
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(base_url=f"{server.url}/v1", api_key=KEY, model=BASE, temperature=0,
                                      max_tokens=24, max_retries=0)
    assert "Paris" in llm.invoke("What is the capital of France?").content
    streamed = "".join(piece.content for piece in llm.stream("What is the capital of France?"))
    assert "Paris" in streamed


def test_uploads_above_the_limit_are_refused(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.post("/login", data={"username": "bob", "password": "pw-bob"})
        big = http.post("/gradio_api/upload", files={"files": ("big.pdf", b"%PDF-1.4\n" + b"0" * 1_500_000)})
        assert big.status_code == 413, big.text
        small = http.post("/gradio_api/upload", files={"files": ("small.txt", b"hello")})
        assert small.status_code == 200
