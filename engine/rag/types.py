"""The records the RAG service hands out (standard library only, so the UI can import them cheaply)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.fields import known_fields, option

# Document statuses, in the order a file goes through them.
IN_PROGRESS = ("queued", "parsing", "embedding", "storing")
DONE = "indexed"
FAILED = "failed"


@dataclass
class CollectionSettings:
    """What a person sets per collection (stored as JSON in collections.settings)."""

    embedding_model: str = option("all-minilm-l6-v2", "Embedding model: a preset name from presets/rag "
                                                     "(kind: embedding) or a local sentence-transformers folder.")
    chunk_size: int = option(1000, "Hard limit of a chunk in characters (unstructured's chunk_by_title).")
    chunk_overlap: int = option(150, "Characters carried from the end of a split chunk into the next one.")
    parse_strategy: str = option("fast", "fast: the PDF's text layer; hi_res: layout model (only when present on "
                                        "disk); auto: hi_res when present, else fast.")
    rerank: bool = option(False, "Re-order search results with a cross-encoder (a second model reads question and "
                                 "chunk together): better order, slower search.")
    reranker: str = option("", "The cross-encoder: a reranker preset from presets/rag (kind: reranker) or a local "
                               "folder; empty: the default preset.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CollectionSettings":
        return cls(**known_fields(cls, data))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class IndexInfo:
    """The Weaviate collection that holds a collection's chunks, the model its vectors come from, and how Weaviate
    replicates it (fixed when it is made: on how many nodes, and the consistency level of its reads and writes)."""

    name: str
    model: str
    dimensions: int
    generation: int = 1
    replicas: int = 1
    consistency: str = "QUORUM"


@dataclass
class Collection:
    id: str
    name: str
    settings: CollectionSettings
    index: IndexInfo
    needs_reindex: bool
    created_at: float
    documents: int = 0
    chunks: int = 0
    owner: str = ""          # who created it ('' without logins)
    shared: bool = True      # visible to every signed-in person (private: its owner only)


@dataclass
class Document:
    id: str
    collection_id: str
    sha256: str
    filename: str
    size: int
    pages: int
    chunks: int
    status: str
    error: str
    created_at: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path | None:
        stored = self.meta.get("path")
        return Path(stored) if stored else None


@dataclass
class Hit:
    """One retrieved chunk. `score` is Weaviate's hybrid score; `similarity` the cosine to the query."""

    chunk_id: str
    text: str
    filename: str
    document_id: str
    pages: list[int]
    section: str
    score: float
    similarity: float = 0.0
    chunk_index: int = 0
    collection: str = ""
    page_starts: list[int] = field(default_factory=list)  # where each of `pages` begins in `text`
    page: int | None = None      # the page holding the passage that matches the question
    named: float = 0.0           # how strongly the question names this hit's document (engine.rag.named)

    @property
    def pages_label(self) -> str:
        return pages_label(self.pages)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    """A source the answer cites as [n]: saved with a chat message (to_dict) and shown under it."""

    n: int
    chunk_id: str
    filename: str
    document_id: str
    pages: list[int]
    section: str
    snippet: str
    score: float
    collection: str = ""
    how: str = "cited"   # cited: the answer writes [n]; matched: it repeats the source's wording; given: in the prompt
    page: int | None = None   # the page holding the cited passage (the chunk may run over several)

    @property
    def pages_label(self) -> str:
        return pages_label(self.pages)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Citation":
        return cls(**known_fields(cls, data))


@dataclass
class Source:
    """What the source viewer shows for one chunk: its text, where it comes from, its rendered page(s)."""

    chunk_id: str
    text: str
    filename: str
    document_id: str
    collection: str
    pages: list[int]
    section: str
    page_images: list[Path]
    file_path: Path | None
    page: int | None = None   # the page to open first: the one holding the cited passage
    ocr_pages: list[int] = field(default_factory=list)   # those of `pages` whose text was read by OCR

    @property
    def pages_label(self) -> str:
        return pages_label(self.pages)


def pages_label(pages: list[int]) -> str:
    """[3] -> 'p. 3'; [3, 4, 5] -> 'pp. 3-5'; [2, 5] -> 'pp. 2, 5'; [] -> ''."""
    if not pages:
        return ""
    pages = sorted(set(pages))
    if len(pages) == 1:
        return f"p. {pages[0]}"
    if pages == list(range(pages[0], pages[-1] + 1)):
        return f"pp. {pages[0]}-{pages[-1]}"
    return "pp. " + ", ".join(str(p) for p in pages)
