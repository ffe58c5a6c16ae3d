"""Embedding models (sentence-transformers), resolved from presets or local folders, loaded once and shared.

Where a model comes from, in order: a local folder given as the model name; <data>/models/embeddings/<preset>;
the Python package named by the preset (the offline default ships this way); the local Hugging Face cache
for the preset's hub id. A model that needs a download and is not on disk raises a LoragError that says so.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from engine.errors import LoragError
from engine.imports import import_heavy
from engine.rag.config import HUB_CACHE, ONNX_INT8, USEM3, EmbeddingPreset, embedding_presets

log = logging.getLogger(__name__)


@dataclass
class EmbeddingSpec:
    """A resolved embedding model: its key (stored with every chunk), folder and prefixes."""

    key: str
    folder: Path
    preset: EmbeddingPreset


def resolve_model(name: str, models_dir: Path | None = None) -> EmbeddingSpec:
    presets = embedding_presets()
    if name in presets:
        preset = presets[name]
        return EmbeddingSpec(key=name, folder=_preset_folder(preset, models_dir), preset=preset)
    folder = Path(name).expanduser()
    if folder.is_dir() and (folder / "config.json").exists():
        return EmbeddingSpec(key=str(folder.resolve()), folder=folder.resolve(),
                             preset=EmbeddingPreset(name=folder.name, label=folder.name, dimensions=0))
    raise LoragError(f"Unknown embedding model {name!r}.",
                     hint=f"Use a preset ({', '.join(sorted(presets))}) or a local sentence-transformers folder.",
                     key="documents.unknown_embedding_model", hint_key="documents.unknown_embedding_model_hint",
                     params={"name": name, "presets": ', '.join(sorted(presets))})


def _preset_folder(preset: EmbeddingPreset, models_dir: Path | None) -> Path:
    if models_dir is not None:
        local = Path(models_dir) / "embeddings" / preset.name
        if (local / "config.json").exists():
            return local
    if preset.package:
        try:
            module = importlib.import_module(preset.package)
            if preset.backend == USEM3:
                return Path(module.__file__).parent  # the package runs its own model
            return Path(module.get_model_path())
        except (ImportError, AttributeError) as exc:
            raise LoragError(f"The embedding model {preset.name} should come with the Python package "
                             f"{preset.package}, which is missing ({exc}).",
                             hint="Run scripts/setup.sh to install it.",
                             key="documents.embedding_package_missing", hint_key="documents.run_setup",
                             params={"name": preset.name, "package": preset.package, "exc": exc}) from None
    if preset.hub_id:
        cached = _hub_cache(preset.hub_id)
        if cached is not None:
            return cached
    where = f"{models_dir}/embeddings/{preset.name}" if models_dir else HUB_CACHE
    label, hub_id = preset.label or preset.name, preset.hub_id or preset.name
    raise LoragError(f"The embedding model {label} needs a download, and it is not on this machine.",
                     hint=f"Download {hub_id} where the hub is reachable and copy the folder to {where}.",
                     key="documents.embedding_not_downloaded", hint_key="documents.embedding_not_downloaded_hint",
                     params={"label": label, "hub_id": hub_id, "where": where})


def _hub_cache(hub_id: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(hub_id, local_files_only=True))
    except Exception:
        return None


def _load_model(spec: EmbeddingSpec, device: str) -> Any:
    if spec.preset.backend == USEM3:
        from engine.rag.embed_use import UseModel

        return UseModel()
    import_heavy("sentence_transformers")
    if spec.preset.backend == ONNX_INT8 and device == "cpu":
        try:
            from engine.rag.embed_onnx import OnnxInt8Model, default_cache_dir, default_threads

            return OnnxInt8Model(spec.folder, default_cache_dir(), default_threads())
        except Exception as exc:  # an architecture the export or onnxruntime does not take: torch still works
            log.warning("embedding model %s runs on torch, not onnxruntime int8: %s", spec.key, exc)
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(spec.folder), device=device, local_files_only=True)


class Embedder:
    """One loaded sentence-transformers model; `encode` is serialised (one model, many job threads)."""

    def __init__(self, spec: EmbeddingSpec, device: str = "cpu") -> None:
        self.spec = spec
        log.info("loading embedding model %s from %s", spec.key, spec.folder)
        try:
            self.model = _load_model(spec, device)
        except Exception as exc:
            raise LoragError(f"The embedding model {spec.key} could not be loaded: {exc}",
                             key="documents.embedding_load_failed", params={"key": spec.key, "exc": exc}) from None
        self.dimensions = int(self.model.get_embedding_dimension())
        self._lock = threading.Lock()

    def encode(self, texts: list[str], query: bool = False, batch_size: int = 32) -> list[list[float]]:
        prefix = self.spec.preset.query_prefix if query else self.spec.preset.passage_prefix
        with self._lock:
            vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False, prompt=prefix or None)
        return vectors.tolist()

    def encode_batches(self, texts: list[str], batch_size: int,
                       on_batch: Callable[[int, int], None] | None = None,
                       check_cancel: Callable[[], None] | None = None) -> list[list[float]]:
        """Vectors in the order of `texts`; batches go longest first, so a batch's texts have like lengths
        and little padding (as sentence-transformers does within one encode call)."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: list[list[float] | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            if check_cancel:
                check_cancel()
            picked = order[start:start + batch_size]
            for i, vector in zip(picked, self.encode([texts[i] for i in picked], batch_size=batch_size),
                                 strict=True):
                out[i] = vector
            if on_batch:
                on_batch(min(start + batch_size, len(texts)), len(texts))
        return out  # type: ignore[return-value]


class EmbedderCache:
    """Loaded models by key, created on first use."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = models_dir
        self._models: dict[str, Embedder] = {}
        self._by_name: dict[str, Embedder] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Embedder:
        with self._lock:
            if name in self._by_name:
                return self._by_name[name]
        spec = resolve_model(name, self.models_dir)
        with self._lock:
            if spec.key not in self._models:
                self._models[spec.key] = Embedder(spec)
            self._by_name[name] = self._models[spec.key]
            return self._models[spec.key]

    def loaded(self) -> dict[str, Any]:
        return dict(self._models)
