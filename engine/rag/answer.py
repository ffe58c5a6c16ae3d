"""Grounded answers: numbered sources into the prompt, [n] citations out of the answer.

`build_messages` puts the retrieved chunks into the prompt as numbered sources with the instruction to
answer only from them and cite them as [n]; `cited` maps the [n] markers of an answer back to the
chunks. `Grounding` is one question grounded in a collection (the relevant chunks, the messages for the
model, what to say when nothing is relevant, the sources of a finished answer): `AnswerStream` (a
caller's `generate(messages)`) and the chat turn (engine.rag.chat, for the Chat tab and the API) share it.

`sources(answer, hits)` is what is saved and shown under an answer, so that every answer is traceable to its
pages. Each Citation says how it relates to the answer (`how`): "cited" (the answer writes [n]); when it
cites nothing (small models often do not), "matched" (the answer repeats the source's wording: shared word
trigrams); when it does neither, "given" (all the numbered sources the model received).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from engine.prompts import prompt
from engine.rag.passage import passage_page
from engine.rag.types import Citation, Hit

# The English prompts (presets/prompts/en.yaml); other languages: build_messages(..., language=...).
DEFAULT_SYSTEM = prompt("rag_system")
RULES = prompt("rag_rules")
NOTHING_FOUND = prompt("nothing_found")
SNIPPET_CHARS = 240
# An answer "matches" a source when this share of its distinct word trigrams occurs in the source's text.
MATCH_SHARE = 0.3
MATCH_MIN_TRIGRAMS = 2
CITATION_RE = re.compile(r"\[(\s*\d+\s*(?:[,;–-]\s*\d+\s*)*)\]")


def source_header(n: int, hit: Hit, language: str | None = None) -> str:
    section = hit.section and prompt("section", language).format(name=hit.section)
    where = ", ".join(part for part in (hit.filename, hit.pages_label, section) if part)
    return f"[{n}] ({where})"


def format_sources(hits: list[Hit], language: str | None = None) -> str:
    return "\n\n".join(f"{source_header(n, hit, language)}\n{hit.text.strip()}"
                        for n, hit in enumerate(hits, start=1))


def build_messages(question: str, hits: list[Hit], history: list[dict] | None = None,
                   system: str | None = None, language: str | None = None) -> list[dict]:
    """Chat messages: system (+ rules), earlier turns, then the sources and the question, in `language`'s
    words (presets/prompts; English by default). Citations are [n] in every language."""
    rules = prompt("rag_rules", language)
    messages = [{"role": "system", "content": f"{(system or prompt('rag_system', language)).strip()}\n\n{rules}"}]
    for turn in history or []:
        if turn.get("role") in ("user", "assistant") and isinstance(turn.get("content"), str):
            messages.append({"role": turn["role"], "content": turn["content"]})
    asked = f"{prompt('question', language)} {question.strip()}"
    if hits:
        body = f"{prompt('sources', language)}\n\n{format_sources(hits, language)}\n\n{asked}"
    else:
        body = f"{prompt('no_sources', language)}\n\n{asked}"
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


def to_citation(n: int, hit: Hit, how: str = "cited") -> Citation:
    return Citation(n=n, chunk_id=hit.chunk_id, filename=hit.filename, document_id=hit.document_id,
                    pages=list(hit.pages), section=hit.section, snippet=snippet(hit.text), score=hit.score,
                    collection=hit.collection, how=how, page=hit.page)


def cited(answer_text: str, hits: list[Hit]) -> list[Citation]:
    """The sources the answer cites as [n] (numbers outside 1..len(hits) are ignored)."""
    return [to_citation(n, hits[n - 1]) for n in cited_numbers(answer_text) if 1 <= n <= len(hits)]


def strip_citations(text: str) -> str:
    """The text without its [n] markers (earlier answers go back to the model without them)."""
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", CITATION_RE.sub("", text or "")).strip()


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", (text or "").lower())
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def matched(answer_text: str, hits: list[Hit]) -> list[Citation]:
    """The sources whose wording the answer repeats (for answers that cite nothing), in source order."""
    answer = _trigrams(strip_citations(answer_text))
    if len(answer) < MATCH_MIN_TRIGRAMS:
        return []
    out = []
    for n, hit in enumerate(hits, start=1):
        shared = len(answer & _trigrams(hit.text))
        if shared >= MATCH_MIN_TRIGRAMS and shared / len(answer) >= MATCH_SHARE:
            out.append(to_citation(n, hit, how="matched"))
    return out


def given(hits: list[Hit]) -> list[Citation]:
    """The numbered sources the model received."""
    return [to_citation(n, hit, how="given") for n, hit in enumerate(hits, start=1)]


def sources(answer_text: str, hits: list[Hit]) -> list[Citation]:
    """What to show under an answer: the sources it cites as [n], else the ones whose wording it repeats,
    else every source it was given; each opens on the page whose part of the chunk the answer draws on."""
    out = cited(answer_text, hits) or matched(answer_text, hits) or given(hits)
    for citation in out:
        hit = hits[citation.n - 1]
        citation.page = passage_page(hit.text, hit.pages, hit.page_starts, answer_text) or hit.page
    return out


@dataclass
class Grounding:
    """One question grounded in a collection: what was retrieved, what is relevant, the model's messages.

    `messages` is empty when nothing is relevant: then the model is not asked and `nothing_found` is the
    answer."""

    question: str
    collection: str
    retrieved: list[Hit]
    relevant: list[Hit]
    messages: list[dict] = field(default_factory=list)
    language: str | None = None

    @classmethod
    def build(cls, question: str, hits: list[Hit], relevant: list[Hit], collection: str,
              history: list[dict] | None = None, system: str | None = None,
              language: str | None = None) -> "Grounding":
        messages = build_messages(question, relevant, history, system, language) if relevant else []
        return cls(question, collection, hits, relevant, messages, language)

    @property
    def found(self) -> bool:
        return bool(self.relevant)

    @property
    def nothing_found(self) -> str:
        return prompt("nothing_found", self.language).format(collection=self.collection)

    def citations(self, answer_text: str) -> list[Citation]:
        return cited(answer_text, self.relevant)

    def sources(self, answer_text: str) -> list[Citation]:
        return sources(answer_text, self.relevant)

    def given(self) -> list[Citation]:
        """The numbered sources the model received (as citations, how="given")."""
        return given(self.relevant)

    def result(self, answer_text: str) -> dict[str, Any]:
        return {"citations": [c.to_dict() for c in self.citations(answer_text)],
                "sources": [c.to_dict() for c in self.sources(answer_text)], "found": self.found,
                "retrieved": [c.to_dict() for c in self.given()]}


class AnswerStream:
    """Iterate it for the answer's text pieces; afterwards `.citations`, `.sources`, `.hits`, `.text` and
    `.messages` are set.

    When no hit is relevant, the model is not called: the stream yields one sentence saying so.
    """

    def __init__(self, question: str, hits: list[Hit], relevant: list[Hit],
                 generate: Callable[[list[dict]], Iterable[str]], collection: str,
                 history: list[dict] | None = None, system: str | None = None,
                 grounding: Grounding | None = None) -> None:
        self.grounding = grounding or Grounding.build(question, hits, relevant, collection, history, system)
        self.question = question
        self.hits = self.grounding.relevant
        self.retrieved = self.grounding.retrieved
        self.collection = self.grounding.collection
        self.generate = generate
        self.messages = self.grounding.messages
        self.text = ""
        self.citations: list[Citation] = []
        self.sources: list[Citation] = []
        self.found = self.grounding.found
        self.done = False

    @classmethod
    def of(cls, grounding: Grounding, generate: Callable[[list[dict]], Iterable[str]]) -> "AnswerStream":
        return cls(grounding.question, grounding.retrieved, grounding.relevant, generate, grounding.collection,
                   grounding=grounding)

    def __iter__(self) -> Iterator[str]:
        if not self.found:
            self.text = self.grounding.nothing_found
            yield self.text
        else:
            for piece in self.generate(self.messages):
                if piece:
                    self.text += piece
                    yield piece
            self.citations = self.grounding.citations(self.text)
            self.sources = self.grounding.sources(self.text)
        self.done = True

    def result(self) -> dict:
        """What the chat saves with the assistant message (meta.sources)."""
        return self.grounding.result(self.text) if self.found else {
            "citations": [], "sources": [], "found": False, "retrieved": []}
