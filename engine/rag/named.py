"""Which documents a question names. "3M's FY2018 capital expenditure", asked of a collection of thirty annual
reports, is about one report: another company's cash-flow statement, however alike, answers nothing.

Each document has a profile: its title (from the file name) and the opening of its first page (a filing's cover:
company, ticker, report kind, period; a paper's title and authors), stored at ingestion. A search scores the
question against its collection's profiles with BM25 (bm25s) over the word stems the chunks' keyword index uses.
The documents scoring near the best are "named", unless that is most of them (then the question names none).
The search then also looks inside the named documents, and their pages get a boost (engine.rag.retrieval).
"""

from __future__ import annotations

import threading
from typing import Iterable

from engine.rag.context import keyword_query
from engine.rag.stems import WORD, stem

PROFILE_CHARS = 3000  # a filing's cover page: name, ticker, kind, period; a paper's title block
NEAR_BEST = 0.5       # a document scoring at least half the best one's score is named too
MAX_NAMED_SHARE = 1 / 2  # half the documents or more matching is not a name but a common word


def document_profile(title: str, elements: Iterable) -> str:
    """The title, then the text of the document's first page (its first PROFILE_CHARS characters)."""
    parts, size, first_page = [title], 0, None
    for element in elements:
        page = getattr(element.metadata, "page_number", None)
        if first_page is None:
            first_page = page
        if page != first_page or size >= PROFILE_CHARS:
            break
        text = (element.text or "").strip()
        parts.append(text)
        size += len(text)
    return "\n".join(p for p in parts if p)[:PROFILE_CHARS + len(title) + 1]


def stems_of(text: str) -> list[str]:
    return [stem(w) for w in WORD.findall(text or "")]


class ProfileIndex:
    """BM25 over one collection's document profiles."""

    def __init__(self, profiles: dict[str, str]) -> None:
        import bm25s

        self.ids = list(profiles)
        tokens = [stems_of(profiles[i]) or ["\u2205"] for i in self.ids]  # bm25s needs a token in every row
        self.bm25 = bm25s.BM25()
        self.bm25.index(tokens, show_progress=False)
        self.vocabulary = set(self.bm25.vocab_dict)

    def named(self, question: str) -> dict[str, float]:
        """{document id: score / best score} for the documents the question names; {} when it names none."""
        if len(self.ids) < 2:
            return {}
        query = [t for t in dict.fromkeys(stems_of(keyword_query(question))) if t in self.vocabulary]
        if not query:
            return {}
        scores = self.bm25.get_scores(query)
        best = float(max(scores))
        if best <= 0:
            return {}
        named = {doc: float(s) / best for doc, s in zip(self.ids, scores, strict=True) if s >= NEAR_BEST * best}
        return named if len(named) <= len(self.ids) * MAX_NAMED_SHARE else {}


class ProfileIndexes:
    """One ProfileIndex per collection, rebuilt when its set of indexed documents changes."""

    def __init__(self) -> None:
        self._built: dict[str, tuple[frozenset, ProfileIndex]] = {}
        self._lock = threading.Lock()

    def get(self, collection_id: str, documents: frozenset, load) -> ProfileIndex:
        """`documents`: the indexed documents' ids; `load(ids)` -> {id: profile} when the index must be built."""
        with self._lock:
            built = self._built.get(collection_id)
            if built and built[0] == documents:
                return built[1]
        index = ProfileIndex(load(sorted(documents)))
        with self._lock:
            self._built[collection_id] = (documents, index)
        return index


def boosted(rows: list, named: dict[str, float], boost: float) -> list:
    """Weaviate rows (uuid, properties, score, vector) of both searches, each chunk once (its better score), a
    named document's scores raised by `boost` x its name score, best first."""
    best: dict[str, tuple] = {}
    for row in rows:
        if row[0] not in best or row[2] > best[row[0]][2]:
            best[row[0]] = row
    raised = [(uid, props, score * (1 + boost * named.get(props.get("document_id", ""), 0.0)), vector)
              for uid, props, score, vector in best.values()]
    return sorted(raised, key=lambda row: -row[2])
