"""A sentence-transformers model run by onnxruntime with int8 weights: nearly the same vectors (mean cosine 0.990
to torch's for MiniLM on full-window chunks, min 0.983) at about twice the speed on CPU, where embedding is most of
an ingestion.

The model's transformer is exported to ONNX once (with eager attention, so that onnxruntime's transformer
optimizer can fuse each layer's attention, LayerNorm and GELU into single operators), then its matrix
multiplications and fused attention are quantized (dynamic int8, per channel). On 224 full-window chunks, one
thread: 9.3 s, where the unfused graph with its MatMuls quantized took 11.5 s and torch fp32 18.7 s.
An architecture the optimizer does not know is quantized unfused, MatMul only. The result is kept in the user's cache
(~/.cache/lorag/onnx/<model>-<hash of its weights>/): derived from the weights, shared by every data folder.
Tokenizer, pooling and normalisation stay sentence-transformers' own, so a query and a chunk go through the
model's own pipeline. It offers the part of SentenceTransformer's interface that Embedder and the embeddings API
use: encode, get_embedding_dimension and tokenizer.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

log = logging.getLogger(__name__)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
POOLINGS = ("mean", "cls")
QUANTIZED = "model-int8-fused.onnx"
FUSABLE = ("bert", "roberta", "xlm-roberta")  # what onnxruntime's BERT optimizer fuses
FLOAT = 1  # onnx.TensorProto.FLOAT: fused operators' outputs have no inferred type; they are float


class OnnxInt8Model:
    def __init__(self, folder: Path, cache_dir: Path, threads: int) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.tokenizer = self._model.tokenizer
        self.max_length = int(self._model.max_seq_length or 512)
        self._pooling = pooling_mode(self._model)
        self._session = _session(quantized_model(self._model, cache_dir / _folder_key(folder)), threads)
        self._inputs = [i.name for i in self._session.get_inputs()]

    def get_embedding_dimension(self) -> int:
        return int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 32, normalize_embeddings: bool = True,
               prompt: str | None = None, **_: Any) -> np.ndarray:
        batch = [f"{prompt}{t}" for t in texts] if prompt else list(texts)
        parts = [self._encode(batch[i:i + batch_size]) for i in range(0, len(batch), batch_size)]
        vectors = np.concatenate(parts) if parts else np.zeros((0, self.get_embedding_dimension()), np.float32)
        if normalize_embeddings:
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="np")
        feed = {name: encoded[name].astype(np.int64) if name in encoded else np.zeros_like(encoded["input_ids"])
                for name in self._inputs}
        hidden = self._session.run(None, feed)[0]
        if self._pooling == "cls":
            return hidden[:, 0].astype(np.float32)
        mask = encoded["attention_mask"][..., None].astype(np.float32)
        return ((hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)).astype(np.float32)


def pooling_mode(model: Any) -> str:
    """'mean' or 'cls' from the model's Pooling module; anything else cannot be run here."""
    from sentence_transformers.models import Pooling, Transformer

    modules = list(model)
    pools = [m for m in modules if isinstance(m, Pooling)]
    others = [m for m in modules if not isinstance(m, (Pooling, Transformer)) and type(m).__name__ != "Normalize"]
    pool = pools[0] if len(pools) == 1 else None
    mode = getattr(pool, "pooling_mode", "")
    if mode not in POOLINGS or others or not isinstance(modules[0], Transformer) or \
            not getattr(pool, "include_prompt", True):
        raise ValueError(f"only Transformer + mean/cls Pooling models run on onnxruntime here, not {modules}")
    return mode


def quantized_model(model: Any, folder: Path) -> Path:
    """<folder>/model-int8-fused.onnx, exported, fused and quantized on first use (by one process at a time: the
    cache is shared by every studio, benchmark and test worker of the user)."""
    target = folder / QUANTIZED
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.with_name(folder.name + ".lock"))):  # beside the folder: it holds the model alone
        return target if target.exists() else _quantize(model, folder, target)


def _quantize(model: Any, folder: Path, target: Path) -> Path:
    exported = folder / f"model-{os.getpid()}.onnx"
    _export(model, exported)
    fused = _fused(model, exported)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = folder / f"{QUANTIZED}.part"
    ops = ["MatMul", "Attention"] if fused else ["MatMul"]  # the embedding layer stays float: closer vectors
    quantize_dynamic(str(fused or exported), str(partial), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=ops, extra_options={"DefaultTensorType": FLOAT})
    partial.replace(target)  # a file that exists is complete: an interrupted quantization leaves only .part
    for path in (exported, fused, folder / "model-int8.onnx"):  # the last: the unfused file of earlier versions
        if path:
            path.unlink(missing_ok=True)
    log.info("quantized %s to %s (%s)", model, target, "fused" if fused else "unfused")
    return target


def _fused(model: Any, exported: Path) -> Path | None:
    """The exported graph with each layer's attention, LayerNorm and GELU fused by onnxruntime's BERT optimizer,
    or None where the architecture is not BERT-like (the optimizer then gets the graph wrong or finds nothing)."""
    config = model[0].auto_model.config
    if config.model_type not in FUSABLE:
        return None
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        optimized = optimize_model(str(exported), model_type="bert", num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size)
    except Exception as exc:  # a graph the optimizer cannot read: the unfused one still runs
        log.warning("onnxruntime could not fuse %s: %s", exported.name, exc)
        return None
    if not optimized.get_fused_operator_statistics().get("Attention"):
        return None
    path = exported.with_name(f"{exported.stem}-fused.onnx")
    optimized.save_model_to_file(str(path))
    return path


def _export(model: Any, path: Path) -> None:
    import torch

    transformer = model[0].auto_model.eval()
    if transformer.config.model_type in FUSABLE:
        transformer.set_attn_implementation("eager")  # SDPA exports as a graph the optimizer cannot fuse
    names = [n for n in INPUTS if n in model.tokenizer.model_input_names] or list(INPUTS[:2])

    class LastHidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *tensors: Any) -> Any:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    sample = model.tokenizer(["a sample"], return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(LastHidden(), tuple(sample[n] for n in names), str(path), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False)


def _session(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _folder_key(folder: Path) -> str:
    """A cache folder name that changes when the model's weights do."""
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    stamp = "|".join(f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in weights)
    return f"{folder.name}-{hashlib.sha256(f'{folder.resolve()}|{stamp}'.encode()).hexdigest()[:12]}"


def default_threads() -> int:
    """The same cap as torch's (engine.imports): one core left to the studio and Weaviate."""
    env = os.environ.get("OMP_NUM_THREADS")
    return int(env) if env and env.isdigit() else max(1, (os.cpu_count() or 2) - 1)


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lorag" / "onnx"
