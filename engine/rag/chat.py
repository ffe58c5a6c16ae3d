"""Chat over documents: the retrieval step of one chat turn, shared by the Chat tab and the API.

`prepare_turn(rag, messages, collection, document_ids=None, k=None, alpha=None) -> PreparedTurn`
    `messages` is the conversation as engine.chats.ChatStore.history gives it (or as an API request sends
    it): an optional system prompt first, the last user message is the question, and in a continued reply
    the partial answer comes after it. The question is searched in the collection (hybrid, inside Weaviate,
    with the retrieval defaults of presets/rag unless k / alpha are given); the relevant chunks go into
    this turn's user message as numbered sources (engine.rag.answer.build_messages). Earlier turns go back
    to the model as plain text, without their passages and without their [n] markers, so sources never
    pile up in the history. When no chunk is relevant, `reply` holds the "nothing relevant" answer and
    the model is not asked. `finish(answer_text)` returns {"sources": [...]}: Citation dicts of the
    sources the answer cites, each with `how` (engine.rag.answer.sources: "cited" for its [n] markers;
    when it cites none, "matched" for the sources whose wording it repeats, else "given": all it received).
    `meta["retrieval"]` records the collection, the document filter and the numbered sources the model got.

`chat_prepare(rag, settings) -> prepare hook | None`: the hook for engine.chat_turn.stream_reply from a chat's
settings JSON (`collection`: a collection id or name, `documents`: document ids, empty for all); None
when the chat has no collection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from engine.chat_turn import PreparedTurn
from engine.errors import LoragError
from engine.rag.answer import strip_citations
from engine.rag.types import DONE

if TYPE_CHECKING:
    from engine.rag.answer import Grounding
    from engine.rag.collections import Collections
    from engine.rag.types import Collection


class Retrieval(Protocol):
    """What a chat turn needs: engine.rag.retrieval.Retrieval, or `studio.rag`."""

    collections: "Collections"

    def ground(self, question: str, collection: "str | Collection", **options: Any) -> "Grounding": ...


def prepare_turn(rag: "Retrieval", messages: list[dict[str, Any]], collection: "str | Collection",
                 document_ids: Sequence[str] | None = None, k: int | None = None,
                 alpha: float | None = None, language: str | None = None) -> PreparedTurn:
    current = _collection(rag, collection)
    document_ids = list(document_ids or [])
    _check_documents(rag, current, document_ids)
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last_user is None:
        raise LoragError("There is no question to answer from the documents.", key="documents.no_question")
    system = messages[0]["content"] if messages and messages[0].get("role") == "system" else None
    history = [_earlier(m) for m in messages[:last_user] if m.get("role") in ("user", "assistant")]
    tail = messages[last_user + 1:]   # a reply being continued
    grounding = rag.ground(_text(messages[last_user]["content"]), current, k=k, alpha=alpha,
                           document_ids=document_ids or None, history=history, system=system, language=language)
    meta = {"retrieval": {"collection": current.name, "collection_id": current.id, "documents": document_ids,
                          "found": grounding.found, "given": [c.to_dict() for c in grounding.given()]}}
    if not grounding.found:
        reply = "" if tail else grounding.nothing_found
        return PreparedTurn(messages=[], meta={**meta, "sources": []}, reply=reply)

    def finish(answer_text: str) -> dict[str, Any]:
        return {"sources": [c.to_dict() for c in grounding.sources(answer_text)]}

    return PreparedTurn(messages=grounding.messages + tail, meta=meta, finish=finish)


def chat_prepare(rag: "Retrieval", settings: dict[str, Any]
                 ) -> Callable[[list[dict[str, Any]]], PreparedTurn] | None:
    collection = settings.get("collection")
    if not collection:
        return None
    documents = list(settings.get("documents") or [])
    language = settings.get("language")   # the page's language when the chat was written (ui.i18n)
    return lambda messages: prepare_turn(rag, messages, collection, document_ids=documents, language=language)


def _collection(rag: "Retrieval", collection: "str | Collection") -> "Collection":
    try:
        current = rag.collections.collection(collection)
    except LoragError as exc:
        raise LoragError("The document collection chosen for this chat no longer exists.",
                         hint="Pick another collection (or none) in the chat's settings.",
                         key="documents.chat_collection_gone", hint_key="documents.chat_collection_gone_hint") from exc
    if current.documents == 0:
        raise LoragError(f"The collection {current.name!r} has no indexed documents yet.",
                         hint="Upload files into it in the Documents tab, or pick another collection.",
                         key="documents.nothing_indexed", hint_key="documents.nothing_indexed_hint",
                         params={"name": current.name})
    return current


def _check_documents(rag: "Retrieval", current: "Collection", document_ids: list[str]) -> None:
    if not document_ids:
        return
    indexed = {d.id for d in rag.collections.documents(current) if d.status == DONE}
    if not indexed & set(document_ids):
        raise LoragError(f"None of the documents chosen for this chat is indexed in {current.name!r} any more.",
                         hint="Pick other documents, or none to search the whole collection.",
                         key="documents.chosen_documents_gone", hint_key="documents.chosen_documents_gone_hint",
                         params={"name": current.name})


def _earlier(message: dict[str, Any]) -> dict[str, str]:
    """An earlier turn as it goes back to the model: plain text, an answer without its [n] markers."""
    text = _text(message["content"])
    return {"role": message["role"], "content": strip_citations(text) if message["role"] == "assistant" else text}


def _text(content: Any) -> str:
    """A message's text (API requests may send a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")
