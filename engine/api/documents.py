"""Documents in the API: the `lorag` field of a chat completion (answers from a collection, with citations) and
/v1/embeddings (a collection's embedder, or an embedding-model preset by name).

Both go through studio.rag (engine.rag.service.RagService): the same hybrid search, prompt with numbered
sources, [n] citations and relevance floor as the studio's own document chat. A caller sees the collections
its login may see (its own and shared ones; see engine.rag.collections).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable

from engine.api.auth import LOGIN, Caller
from engine.api.errors import NOT_FOUND, UNAVAILABLE, ApiError, from_lorag
from engine.api.schemas import ChatCompletionRequest
from engine.errors import LoragError
from engine.models.generation import GenerationStats, StreamEvent

if TYPE_CHECKING:
    from engine.rag.service import RagService

MAX_EMBED_INPUTS = 2048
MAX_EMBED_CHARS = 100_000


def viewer_of(caller: Caller, logins_on: bool) -> str | None:
    """Whose collections the caller may see: None = all (no logins), else the login ('' for the API key)."""
    if not logins_on:
        return None
    return caller.name if caller.kind == LOGIN else ""


def visible_collection(rag: "RagService", name: str, viewer: str | None, param: str) -> Any:
    if not rag.available:
        raise ApiError(503, "Documents are unavailable: this studio runs without Weaviate (--no-weaviate).",
                       UNAVAILABLE, param=param, code="documents_unavailable")
    try:
        return rag.collection(name, viewer=viewer)
    except LoragError as exc:
        raise ApiError(404, str(exc), NOT_FOUND, param=param, code="collection_not_found") from None


def _split(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]], str | None]:
    """(the question: the last user message, the turns before it, the system prompt)."""
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last_user is None or not messages[last_user]["content"].strip():
        raise ApiError(400, "Asking about documents needs a user message with the question.", param="messages")
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"].strip()) or None
    history = [m for m in messages[:last_user] if m["role"] in ("user", "assistant")]
    return messages[last_user]["content"], history, system


def grounded_messages(rag: "RagService", request: ChatCompletionRequest, messages: list[dict[str, Any]],
                      caller: Caller, logins_on: bool
                      ) -> tuple[list[dict[str, Any]] | None, dict[str, Any], Callable[[str], dict[str, Any]]]:
    """Messages with the retrieved sources, the response's `lorag` part, and a function adding the citations.

    Messages are None when nothing relevant was found: then the model is not asked (see `nothing_found`).
    """
    options = request.lorag
    current = visible_collection(rag, options.collection, viewer_of(caller, logins_on), "lorag.collection")
    question, history, system = _split(messages)
    try:
        hits = rag.search(current, question, k=options.k, alpha=options.alpha, document_ids=options.document_ids)
    except LoragError as exc:
        raise from_lorag(exc, param="lorag") from None
    floor = rag.min_similarity(current)
    relevant = [h for h in hits if h.similarity >= floor]
    retrieved = [_hit(n, h) for n, h in enumerate(relevant, start=1)]
    part = {"collection": current.name, "found": bool(relevant), "retrieved": retrieved, "citations": []}

    def with_citations(answer: str) -> dict[str, Any]:
        return {"lorag": {**part, "citations": [c.to_dict() for c in rag.cited(answer, relevant)]}}

    if not relevant:
        return None, {"lorag": part}, with_citations
    return rag.build_messages(question, relevant, history, system), {"lorag": part}, with_citations


def _hit(n: int, hit: Any) -> dict[str, Any]:
    return {"n": n, "chunk_id": hit.chunk_id, "filename": hit.filename, "document_id": hit.document_id,
            "pages": list(hit.pages), "section": hit.section, "score": hit.score, "similarity": hit.similarity,
            "text": hit.text}


def nothing_found(collection: str) -> list[StreamEvent]:
    """The answer when no passage is relevant: said plainly, without asking the model to make one up."""
    from engine.rag.answer import NOTHING_FOUND

    text = NOTHING_FOUND.format(collection=collection)
    return [StreamEvent("answer", text, text),
            StreamEvent("done", "", text, "", GenerationStats(finish_reason="eos"))]


# --- embeddings --------------------------------------------------------------------------------------------
def embed(rag: "RagService", model: str, texts: list[str], caller: Caller,
          logins_on: bool) -> tuple[list[list[float]], int, str]:
    """(vectors, token count, model name) for `texts` with a collection's embedder or a preset by name."""
    from engine.rag.config import embedding_presets

    if not texts or any(not t for t in texts):
        raise ApiError(400, "'input' must hold non-empty text.", param="input")
    if len(texts) > MAX_EMBED_INPUTS:
        raise ApiError(400, f"'input' holds {len(texts)} texts; send at most {MAX_EMBED_INPUTS} per request.",
                       param="input")
    if any(len(t) > MAX_EMBED_CHARS for t in texts):
        raise ApiError(400, f"A text in 'input' is longer than {MAX_EMBED_CHARS} characters.", param="input")
    presets = embedding_presets()
    if model in presets:
        key = model
    else:
        unknown = ApiError(404, f"{model!r} is neither a collection nor an embedding model here"
                                + (" (collections are unavailable: --no-weaviate)" if not rag.available
                                   else "") + f". Embedding models: {', '.join(sorted(presets))}.",
                           NOT_FOUND, param="model", code="model_not_found")
        if not rag.available:
            raise unknown
        try:
            key = visible_collection(rag, model, viewer_of(caller, logins_on), "model").index.model
        except ApiError as exc:
            raise (unknown if exc.status == 404 else exc) from None
    try:
        embedder = rag.embedders.get(key)
        vectors = embedder.encode(texts)
        tokens = sum(len(ids) for ids in embedder.model.tokenizer(texts, add_special_tokens=True)["input_ids"])
    except LoragError as exc:
        raise from_lorag(exc, param="model") from None
    return vectors, tokens, model


def embedding_response(vectors: list[list[float]], tokens: int, model: str, encoding_format: str,
                       dimensions: int | None) -> dict[str, Any]:
    if dimensions is not None and vectors and dimensions != len(vectors[0]):
        raise ApiError(400, f"This embedding model makes vectors of {len(vectors[0])} dimensions; it cannot "
                            f"shorten them to {dimensions}.", param="dimensions")
    data = [{"object": "embedding", "index": i, "embedding": _encode(v, encoding_format)}
            for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _encode(vector: list[float], encoding_format: str) -> Any:
    if encoding_format != "base64":
        return vector
    import numpy as np

    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
