"""Grounded answers: numbered sources into the prompt, [n] citations out of the answer.

`build_messages` puts the retrieved chunks into the prompt as numbered sources with the instruction to
answer only from them and cite them as [n]; `cited` maps the [n] markers of an answer back to the
chunks; `AnswerStream` ties retrieval, the caller's `generate(messages)` and citations together.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Iterator

from engine.rag.types import Citation, Hit

DEFAULT_SYSTEM = "You are a careful assistant that answers questions about the person's documents."
RULES = (
    "Answer the question using only the numbered sources below. After each statement, cite the source it "
    "comes from as [n], for example [1] or [2][3]. Do not use knowledge from outside the sources. If the "
    "sources do not contain the answer, say that the documents do not contain it."
)
NOTHING_FOUND = ("I could not find anything relevant to this question in the documents of the collection "
                 "{collection!r}, so I cannot answer it from them.")
SNIPPET_CHARS = 240
CITATION_RE = re.compile(r"\[(\s*\d+\s*(?:[,;–-]\s*\d+\s*)*)\]")


def source_header(n: int, hit: Hit) -> str:
    where = ", ".join(part for part in (hit.filename, hit.pages_label, hit.section and f"section {hit.section!r}")
                      if part)
    return f"[{n}] ({where})"


def format_sources(hits: list[Hit]) -> str:
    return "\n\n".join(f"{source_header(n, hit)}\n{hit.text.strip()}" for n, hit in enumerate(hits, start=1))


def build_messages(question: str, hits: list[Hit], history: list[dict] | None = None,
                   system: str | None = None) -> list[dict]:
    """Chat messages: system (+ rules), earlier turns, then the sources and the question."""
    messages = [{"role": "system", "content": f"{(system or DEFAULT_SYSTEM).strip()}\n\n{RULES}"}]
    for turn in history or []:
        if turn.get("role") in ("user", "assistant") and isinstance(turn.get("content"), str):
            messages.append({"role": turn["role"], "content": turn["content"]})
    if hits:
        body = f"Sources:\n\n{format_sources(hits)}\n\nQuestion: {question.strip()}"
    else:
        body = f"Sources: none were found.\n\nQuestion: {question.strip()}"
    messages.append({"role": "user", "content": body})
    return messages


def cited_numbers(answer_text: str) -> list[int]:
    """[1], [2, 3], [4-6] -> 1, 2, 3, 4, 5, 6 in order of first appearance."""
    seen: list[int] = []
    for match in CITATION_RE.finditer(answer_text or ""):
        for part in re.split(r"[,;]", match.group(1)):
            bounds = [int(x) for x in re.split(r"[–-]", part) if x.strip()]
            numbers = range(bounds[0], bounds[-1] + 1) if len(bounds) == 2 and bounds[1] - bounds[0] < 20 else bounds
            for n in numbers:
                if n not in seen:
                    seen.append(n)
    return seen


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


def to_citation(n: int, hit: Hit) -> Citation:
    return Citation(n=n, chunk_id=hit.chunk_id, filename=hit.filename, document_id=hit.document_id,
                    pages=list(hit.pages), section=hit.section, snippet=snippet(hit.text), score=hit.score,
                    collection=hit.collection)


def cited(answer_text: str, hits: list[Hit]) -> list[Citation]:
    """The sources the answer cites as [n] (numbers outside 1..len(hits) are ignored)."""
    return [to_citation(n, hits[n - 1]) for n in cited_numbers(answer_text) if 1 <= n <= len(hits)]


class AnswerStream:
    """Iterate it for the answer's text pieces; afterwards `.citations`, `.hits`, `.text` and `.messages` are set.

    When no hit is relevant, the model is not called: the stream yields one sentence saying so.
    """

    def __init__(self, question: str, hits: list[Hit], relevant: list[Hit],
                 generate: Callable[[list[dict]], Iterable[str]], collection: str,
                 history: list[dict] | None = None, system: str | None = None) -> None:
        self.question = question
        self.hits = relevant
        self.retrieved = hits
        self.collection = collection
        self.generate = generate
        self.messages = build_messages(question, relevant, history, system) if relevant else []
        self.text = ""
        self.citations: list[Citation] = []
        self.found = bool(relevant)
        self.done = False

    def __iter__(self) -> Iterator[str]:
        if not self.found:
            self.text = NOTHING_FOUND.format(collection=self.collection)
            yield self.text
        else:
            for piece in self.generate(self.messages):
                if piece:
                    self.text += piece
                    yield piece
            self.citations = cited(self.text, self.hits)
        self.done = True

    def result(self) -> dict:
        """What the chat saves with the assistant message (meta.sources)."""
        return {"citations": [c.to_dict() for c in self.citations], "found": self.found,
                "retrieved": [to_citation(n, h).to_dict() for n, h in enumerate(self.hits, start=1)]}
