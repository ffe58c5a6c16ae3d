"""A second ranking stage: a cross-encoder (sentence-transformers `CrossEncoder`) reads the question together with
each candidate chunk and orders them again.

Hybrid search ranks by what a question and a chunk share (words, a vector direction); a cross-encoder scores the
pair jointly, which tells "the 2018 cash-flow statement" from the 2017 one. It costs one model pass per candidate,
so search asks Weaviate for a few times `k` candidates, and the cross-encoder keeps the best `k`.
Where a model comes from: a local folder given as the name; <data>/models/rerankers/<preset>; the local Hugging
Face cache for the preset's hub id. Presets live in presets/rag (kind: reranker).
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.errors import LoragError
from engine.fields import option
from engine.imports import import_heavy
from engine.rag.config import HUB_CACHE, rag_presets

log = logging.getLogger(__name__)

CANDIDATES_PER_RESULT = 4   # Weaviate returns 4 x k candidates for the cross-encoder to order
MIN_CANDIDATES = 20


@dataclass
class RerankerPreset:
    name: str = option("", "Preset file name (without .yaml).")
    label: str = option("", "What the UI shows.")
    hub_id: str = option("", "Hugging Face hub id (used when the model is in the local cache).")
    languages: list[str] = option(None, "Languages the model was trained for.")
    max_length: int = option(512, "Tokens of question + chunk the model reads.")
    default: bool = option(False, "The reranker a collection gets when reranking is switched on.")


def reranker_presets() -> dict[str, RerankerPreset]:
    return dict(_reranker_presets())


@functools.lru_cache(maxsize=1)
def _reranker_presets() -> dict[str, RerankerPreset]:
    return rag_presets("reranker", RerankerPreset)


def default_reranker() -> str:
    presets = reranker_presets()
    return next((name for name, p in presets.items() if p.default), sorted(presets)[0] if presets else "")


def candidates_for(k: int) -> int:
    return max(MIN_CANDIDATES, CANDIDATES_PER_RESULT * k)


def resolve_reranker(name: str, models_dir: Path | None = None) -> Path:
    """The folder of reranker `name` (a preset or a local folder), or a LoragError saying how to get it."""
    folder = Path(name).expanduser()
    if folder.is_dir() and (folder / "config.json").exists():
        return folder.resolve()
    presets = reranker_presets()
    if name not in presets:
        raise LoragError(f"Unknown reranker {name!r}.",
                         hint=f"Use a preset ({', '.join(sorted(presets))}) or a local cross-encoder folder.",
                         key="documents.unknown_reranker", hint_key="documents.unknown_reranker_hint",
                         params={"name": name, "presets": ', '.join(sorted(presets))})
    preset = presets[name]
    if models_dir is not None and (Path(models_dir) / "rerankers" / name / "config.json").exists():
        return Path(models_dir) / "rerankers" / name
    cached = _hub_cache(preset.hub_id) if preset.hub_id else None
    if cached is not None:
        return cached
    where = f"{models_dir}/rerankers/{name}" if models_dir else HUB_CACHE
    raise LoragError(f"The reranker {preset.label or name} needs a download, and it is not on this machine.",
                     hint=f"Download {preset.hub_id} where the hub is reachable and copy the folder to {where}; "
                          "or switch reranking off for this collection.",
                     key="documents.reranker_not_downloaded", hint_key="documents.reranker_not_downloaded_hint",
                     params={"label": preset.label or name, "hub_id": preset.hub_id, "where": where})


def _hub_cache(hub_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        return None


class Reranker:
    """One loaded cross-encoder; `scores` is serialised (one model, many request threads)."""

    def __init__(self, folder: Path, max_length: int = 512) -> None:
        import_heavy("sentence_transformers")
        from sentence_transformers import CrossEncoder

        log.info("loading reranker from %s", folder)
        try:
            self.model = CrossEncoder(str(folder), device="cpu", max_length=max_length, local_files_only=True)
        except Exception as exc:
            raise LoragError(f"The reranker in {folder} could not be loaded: {exc}",
                             key="documents.reranker_load_failed", params={"folder": folder, "exc": exc}) from None
        self._lock = threading.Lock()

    def scores(self, query: str, texts: list[str]) -> list[float]:
        if not texts:
            return []
        with self._lock:
            return [float(s) for s in self.model.predict([(query, t) for t in texts], batch_size=16,
                                                        show_progress_bar=False)]


class RerankerCache:
    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = models_dir
        self._models: dict[str, Reranker] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Reranker:
        folder = resolve_reranker(name, self.models_dir)
        preset = reranker_presets().get(name)
        with self._lock:
            if str(folder) not in self._models:
                self._models[str(folder)] = Reranker(folder, preset.max_length if preset else 512)
            return self._models[str(folder)]


def reranked(reranker: Reranker, query: str, rows: list[tuple]) -> list[tuple]:
    """Weaviate's (uuid, properties, score, vector) rows in the cross-encoder's order, its score in place of the
    hybrid one. The chunk is read with its document title, as it was embedded."""
    from engine.rag.context import embedding_text

    texts = [embedding_text(props.get("title") or "", props.get("section") or "", props.get("text") or "")
             for _uid, props, _score, _vector in rows]
    scores = reranker.scores(query, texts)
    order = sorted(range(len(rows)), key=lambda i: -scores[i])
    return [(rows[i][0], rows[i][1], scores[i], rows[i][3]) for i in order]
