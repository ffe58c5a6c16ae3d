"""Documents through the API on a real Weaviate with SmolLM2: the `lorag` field answers from a collection and
returns where the passages come from (file and page) and which ones the answer cites; /v1/embeddings uses a
collection's embedder; with logins on, another person's private collection is not there, a shared one is."""

from __future__ import annotations

import openai
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from engine.access import AccessPlan
from engine.api.mount import api_routes
from engine.rag.config import default_embedding_model
from tests.conftest import need_shared
from tests.support.rag import wait_job

pytestmark = [pytest.mark.weaviate, pytest.mark.slow]

NOTES = "# Harbour notes\n\nThe harbour master of Lorag Bay keeps a blue ledger in the lighthouse.\n"
QUESTION = "What colour is the ledger of the harbour master of Lorag Bay?"


@pytest.fixture(scope="module")
def studio(rag_studio, smollm2_dir, tmp_path_factory):
    """The session's document studio with SmolLM2 loaded and a collection holding a PDF and a note."""
    notes = tmp_path_factory.mktemp("api-docs") / "harbour.md"
    notes.write_text(NOTES)
    rag_studio.settings.api = True
    rag_studio.rag.create_collection("api-docs", owner="ann", shared=False)
    job = rag_studio.rag.ingest("api-docs", [need_shared("pdfs", "crazyones-pdfa.pdf"), notes])
    assert wait_job(rag_studio, job.id).status == "completed"
    # Loaded after indexing: transformers' first import is not thread-safe, and the embedder (imported by the
    # ingestion thread) does not take engine.models.loading's import lock (reported to the lead).
    rag_studio.models.load(str(smollm2_dir))
    yield rag_studio
    rag_studio.access = AccessPlan()
    rag_studio.models.unload()
    rag_studio.rag.delete_collection("api-docs")


@pytest.fixture
def http(studio):
    studio.access = AccessPlan()
    with TestClient(Starlette(routes=api_routes(studio))) as client:
        yield client


def client_for(http, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url="http://testserver/v1", http_client=http, max_retries=0)


def ask(studio) -> dict:
    return dict(model=studio.models.current.name, messages=[{"role": "user", "content": QUESTION}], temperature=0,
                max_tokens=40, extra_body={"lorag": {"collection": "api-docs", "k": 3}})


def test_answers_from_the_collection_with_sources_and_citations(studio, http):
    reply = client_for(http).chat.completions.create(**ask(studio))
    part = reply.model_extra["lorag"]
    assert part["collection"] == "api-docs" and part["found"]
    assert part["retrieved"][0]["filename"] == "harbour.md" and "blue ledger" in part["retrieved"][0]["text"]
    pdf = [hit for hit in part["retrieved"] if hit["filename"] == "crazyones-pdfa.pdf"]
    assert not pdf or pdf[0]["pages"] == [1]
    answer = reply.choices[0].message.content
    assert "blue" in answer.lower()
    cited = {c["n"] for c in part["citations"]}
    assert cited <= {hit["n"] for hit in part["retrieved"]}
    assert bool(cited) == ("[1]" in answer or "[2]" in answer or "[3]" in answer)


def test_streamed_answer_carries_the_sources_in_its_last_chunk(studio, http):
    chunks = list(client_for(http).chat.completions.create(**ask(studio), stream=True))
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finish) == 1 and finish[0] is chunks[-1]
    assert finish[0].model_extra["lorag"]["retrieved"][0]["filename"] == "harbour.md"
    assert "blue" in "".join(c.choices[0].delta.content or "" for c in chunks).lower()


def test_embeddings_with_the_collections_embedder(studio, http):
    ai = client_for(http)
    by_collection = ai.embeddings.create(model="api-docs", input="blue ledger").data[0].embedding
    by_model = ai.embeddings.create(model=default_embedding_model(), input="blue ledger").data[0].embedding
    assert len(by_collection) == 384
    assert max(abs(a - b) for a, b in zip(by_collection, by_model, strict=True)) < 1e-5


def test_private_collections_stay_private_with_logins(studio, http):
    studio.access = AccessPlan(users={"ann": "pw-a", "bob": "pw-b"})
    ann = client_for(http, "ann:pw-a")
    bob = client_for(http, "bob:pw-b")
    assert ann.chat.completions.create(**ask(studio)).model_extra["lorag"]["found"]
    with pytest.raises(openai.NotFoundError, match="There is no collection 'api-docs'"):
        bob.chat.completions.create(**ask(studio))
    with pytest.raises(openai.NotFoundError):
        bob.embeddings.create(model="api-docs", input="x")
    assert "api-docs" not in [c.name for c in studio.rag.list_collections("bob")]   # (other files' public ones may be)
    studio.rag.set_shared("api-docs", True, viewer="ann")
    try:
        assert bob.chat.completions.create(**ask(studio)).model_extra["lorag"]["found"]
        with pytest.raises(Exception, match="only they can change it"):
            studio.rag.check_owner("api-docs", "bob")
    finally:
        studio.rag.set_shared("api-docs", False, viewer="ann")
