"""Retrieval and answers: hybrid search inside Weaviate, the relevance floor, grounded messages, citations, and
the source text behind a citation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from engine.errors import LoragError
from engine.rag import answer as answers
from engine.rag.collections import Collections
from engine.rag.config import embedding_preset
from engine.rag.context import document_title
from engine.rag.headings import POOL_PER_RESULT, heading_boosted
from engine.rag.named import ProfileIndexes, boosted
from engine.rag.pages import by_page
from engine.rag.passage import passage_page
from engine.rag.rerank import MIN_CANDIDATES, candidates_for, default_reranker, reranked
from engine.rag.types import DONE, Citation, Collection, Document, Hit, Source

if TYPE_CHECKING:
    from engine.chat_turn import PreparedTurn


class Retrieval:
    def __init__(self, collections: Collections) -> None:
        self.collections = collections
        self.profiles = ProfileIndexes()

    def search(self, collection: str | Collection, query: str, k: int | None = None, alpha: float | None = None,
               document_ids: Sequence[str] | None = None, distinct_pages: bool = True,
               named_boost: float | None = None, heading_boost: float | None = None) -> list[Hit]:
        """Hybrid (BM25 + vector) search inside Weaviate, best first; only fully indexed documents. With
        `distinct_pages`, one hit per page (its retrieved chunks joined), else one per chunk. The documents the
        question names (engine.rag.named) are searched too, their scores raised by `named_boost`; chunks under a
        heading the question names are raised by `heading_boost` (engine.rag.headings; 0: off; None: defaults)."""
        collections = self.collections
        current = collections.collection(collection)
        query = (query or "").strip()
        if not query:
            raise LoragError("Type something to search for.", key="documents.empty_query")
        k = int(k or collections.defaults.top_k)
        alpha = collections.defaults.alpha if alpha is None else float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise LoragError(f"alpha must be between 0 (keywords only) and 1 (vectors only), not {alpha}.",
                             key="documents.bad_alpha", params={"alpha": alpha})
        indexed, everything_indexed = self._indexed_ids(current)
        allowed = _searchable(indexed, everything_indexed, document_ids)
        if allowed is not None and not allowed:
            return []
        embedder = collections.embedders.get(current.index.model)
        vector = embedder.encode([query], query=True)[0]
        reranker = self._reranker(current)
        pool = candidates_for(k) if reranker else max(MIN_CANDIDATES, POOL_PER_RESULT * k) if distinct_pages else k
        boost = collections.defaults.named_boost if named_boost is None else float(named_boost)
        rows, named = self._candidates(current, query, vector, pool, alpha, (indexed, allowed), boost)
        rows = heading_boosted(rows, query, collections.defaults.heading_boost if heading_boost is None
                               else float(heading_boost))
        if reranker:
            rows = reranked(reranker, query, rows)
        rows = by_page(rows, k, two_best=not reranker) if distinct_pages else rows[:k]
        return [_hit(uid, props, score, round(_cosine(vector, vec), 4), current.name, query,
                     named.get(props.get("document_id", ""), 0.0)) for uid, props, score, vec in rows]

    def _candidates(self, current: Collection, query: str, vector: list[float], pool: int, alpha: float,
                    documents: tuple[frozenset, list[str] | None], boost: float) -> tuple[list, dict[str, float]]:
        """Weaviate's best `pool` chunks, and as many from the documents the question names, raised by `boost`;
        and the named documents' weights. `documents`: the indexed ids, and the searchable ones (None: all)."""
        indexed, allowed = documents
        index = self.collections.index_of(current)
        rows = index.hybrid(query, vector, pool, alpha, allowed)
        named = self._named(current, query, indexed, allowed) if boost > 0 else {}
        if not named:
            return rows, named
        if allowed is None or set(named) != set(allowed):  # else it would be the same search again
            rows += index.hybrid(query, vector, pool, alpha, sorted(named))
        return boosted(rows, named, boost), named

    def _reranker(self, current: Collection):
        """The collection's cross-encoder when reranking is on, else None."""
        if not current.settings.rerank:
            return None
        return self.collections.rerankers.get(current.settings.reranker or default_reranker())

    def _named(self, current: Collection, query: str, indexed: frozenset,
               allowed: list[str] | None) -> dict[str, float]:
        """{document id: weight} for the searchable documents the question names."""
        profiles = self.profiles.get(current.id, indexed, self._profiles_of)
        return {doc: w for doc, w in profiles.named(query).items() if allowed is None or doc in allowed}

    def _profiles_of(self, ids: list[str]) -> dict[str, str]:
        """Each document's profile; a document indexed before profiles were kept has its title only."""
        marks = ",".join("?" * len(ids))
        rows = self.collections.store.all(f"SELECT id, filename, meta FROM documents WHERE id IN ({marks})", tuple(ids))
        return {r["id"]: (r["meta"] or {}).get("profile") or document_title(r["filename"]) for r in rows}

    def _indexed_ids(self, current: Collection) -> tuple[frozenset, bool]:
        """The collection's fully indexed documents, and whether that is all of them (one read per search)."""
        rows = self.collections.store.all("SELECT id, status FROM documents WHERE collection_id = ?", (current.id,))
        indexed = frozenset(r["id"] for r in rows if r["status"] == DONE)
        return indexed, len(indexed) == len(rows)

    def build_messages(self, question: str, hits: list[Hit], history: list[dict] | None = None,
                       system: str | None = None) -> list[dict]:
        """The messages for the model: the question with the hits as numbered sources."""
        return answers.build_messages(question, hits, history, system)

    def cited(self, answer_text: str, hits: list[Hit]) -> list[Citation]:
        """The hits an answer cites with its [n] markers."""
        return answers.cited(answer_text, hits)

    def min_similarity(self, collection: Collection) -> float:
        """The relevance floor of the collection's embedding model: chunks below it are not given to the model."""
        try:
            return embedding_preset(collection.index.model).min_similarity
        except LoragError:
            return 0.2

    def answer_stream(self, question: str, collection: str | Collection,
                      generate: Callable[[list[dict]], Iterable[str]], k: int | None = None,
                      alpha: float | None = None, document_ids: Sequence[str] | None = None,
                      history: list[dict] | None = None, system: str | None = None,
                      min_similarity: float | None = None) -> answers.AnswerStream:
        """Retrieve, keep the relevant chunks, and stream a grounded answer from `generate(messages)`: iterate it
        for text pieces, then read .citations / .hits / .result(). When no chunk reaches the floor, `generate`
        is not called and the stream says so."""
        grounding = self.ground(question, collection, k=k, alpha=alpha, document_ids=document_ids,
                                history=history, system=system, min_similarity=min_similarity)
        return answers.AnswerStream.of(grounding, generate)

    def ground(self, question: str, collection: str | Collection, k: int | None = None, alpha: float | None = None,
               document_ids: Sequence[str] | None = None, history: list[dict] | None = None,
               system: str | None = None, min_similarity: float | None = None,
               language: str | None = None) -> answers.Grounding:
        """Hybrid search, keep the chunks that reach the model's min_similarity, build the grounded messages."""
        current = self.collections.collection(collection)
        hits = self.search(current, question, k=k, alpha=alpha, document_ids=document_ids)
        floor = self.min_similarity(current) if min_similarity is None else min_similarity
        relevant = [h for h in hits if h.similarity >= floor]
        return answers.Grounding.build(question, hits, relevant, current.name, history, system, language)

    def chat_turn(self, messages: list[dict], collection: str | Collection,
                  document_ids: Sequence[str] | None = None, k: int | None = None,
                  alpha: float | None = None) -> "PreparedTurn":
        """One chat turn over documents (the Chat tab's prepare hook, the API): see engine.rag.chat."""
        from engine.rag.chat import prepare_turn

        return prepare_turn(self, messages, collection, document_ids=document_ids, k=k, alpha=alpha)

    def source(self, chunk_id: str, collection: str | Collection | None = None,
               viewer: str | None = None, page: int | None = None) -> Source:
        """The chunk's text, file, pages and rendered page images, for the source viewer, `page` (the one holding
        the cited passage) first. Looks in the named collection first, then in the others `viewer` sees (a renamed
        collection is fine)."""
        collections = self.collections
        candidates = collections.list_collections(viewer)
        if collection:
            named = [c for c in candidates if collection in (c.id, c.name, getattr(collection, "id", None))]
            candidates = named + [c for c in candidates if c not in named]
        for current in candidates:
            props = collections.index_of(current).fetch(chunk_id)
            if props is not None:
                return self._source(chunk_id, current, props, page)
        raise LoragError("That source is no longer in the index (its document was deleted or re-indexed).",
                         key="documents.source_gone")

    def _source(self, chunk_id: str, current: Collection, props: dict, page: int | None) -> Source:
        uploads = self.collections.uploads
        doc_row = self.collections.store.one("SELECT * FROM documents WHERE id = ?", (props.get("document_id"),))
        doc = Document(**doc_row) if doc_row else None
        pages = [int(p) for p in props.get("pages") or []]
        page = page if page in pages else (pages[0] if pages else None)
        images = []
        if doc and doc.path and doc.path.suffix == ".pdf" and doc.path.exists():
            viewable = uploads.viewable(doc.path, doc.sha256)
            shown = sorted(pages, key=lambda p: p != page)[:4]
            images = [img for p in shown if (img := uploads.page_image(viewable, doc.sha256, p))]
        return Source(chunk_id=chunk_id, text=props.get("text", ""), filename=props.get("filename", ""),
                      document_id=props.get("document_id", ""), collection=current.name, pages=pages,
                      section=props.get("section") or "", page_images=images,
                      file_path=doc.path if doc else None, page=page,
                      ocr_pages=[p for p in pages if doc and p in doc.meta.get("ocr_pages", [])])


def _searchable(indexed: frozenset, everything_indexed: bool,
                document_ids: Sequence[str] | None) -> list[str] | None:
    """None: no filter needed. Otherwise the ids to keep (chosen ones, minus half-indexed ones)."""
    if document_ids:
        return sorted(indexed & set(document_ids))
    return None if everything_indexed else sorted(indexed)


def _hit(uid: str, props: dict, score: float, similarity: float, collection: str, query: str,
         named: float) -> Hit:
    text, pages = props.get("text", ""), [int(p) for p in props.get("pages") or []]
    starts = [int(s) for s in props.get("page_starts") or []]
    return Hit(chunk_id=uid, text=text, filename=props.get("filename", ""), document_id=props.get("document_id", ""),
               pages=pages, section=props.get("section") or "", score=round(score, 4), similarity=similarity,
               chunk_index=int(props.get("chunk_index") or 0), collection=collection, page_starts=starts,
               page=passage_page(text, pages, starts, query), named=round(named, 3))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if not a or not b or len(a) != len(b):
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
