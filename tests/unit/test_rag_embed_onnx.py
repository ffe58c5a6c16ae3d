"""The int8 onnxruntime backend: the real MiniLM gives torch's vectors (and their ranking), the quantized file is
made once and reused, and a model it cannot run falls back to torch."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import pytest

from engine.rag.config import EmbeddingPreset
from engine.rag.embed import Embedder, EmbeddingSpec, resolve_model
from engine.rag.embed_onnx import QUANTIZED, OnnxInt8Model, pooling_mode

TEXTS = ["Purchases of property, plant and equipment (PP&E) (1,577) (1,373) (1,420)",
         "Cash and cash equivalents at end of period $ 2,853 $ 3,053",
         "The Board of Directors authorizes the payment of dividends.",
         "We are involved in a number of legal proceedings, see Note 21."]
QUERIES = ["How much was spent on purchases of property, plant and equipment?", "Is the company in any lawsuits?",
           "dividends paid"]


@pytest.fixture(scope="module")
def minilm():
    return resolve_model("all-minilm-l6-v2")


@pytest.fixture(scope="module")
def int8(minilm, tmp_path_factory):
    return OnnxInt8Model(minilm.folder, tmp_path_factory.mktemp("onnx"), threads=1)


def test_int8_vectors_match_torch_and_rank_the_same(minilm, int8):
    from sentence_transformers import SentenceTransformer

    torch_model = SentenceTransformer(str(minilm.folder), device="cpu")
    ours, theirs = int8.encode(TEXTS + QUERIES), torch_model.encode(TEXTS + QUERIES, normalize_embeddings=True)
    assert ours.shape == theirs.shape == (len(TEXTS) + len(QUERIES), int8.get_embedding_dimension())
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * theirs).sum(1).min() > 0.97
    docs = slice(0, len(TEXTS))
    assert [int(np.argmax(ours[docs] @ q)) for q in ours[len(TEXTS):]] == \
           [int(np.argmax(theirs[docs] @ q)) for q in theirs[len(TEXTS):]] == [0, 3, 2]


def test_the_quantized_model_is_made_once_and_reused(minilm, int8, tmp_path_factory):
    cache = next(p for p in tmp_path_factory.getbasetemp().glob("onnx*") if any(p.rglob(QUANTIZED)))
    made = next(cache.rglob(QUANTIZED))
    stamp = made.stat().st_mtime_ns
    again = OnnxInt8Model(minilm.folder, cache, threads=1)
    assert made.stat().st_mtime_ns == stamp
    assert not list(cache.rglob("*.part")) and [p.name for p in made.parent.iterdir()] == [QUANTIZED]
    assert np.allclose(again.encode(TEXTS[:1]), int8.encode(TEXTS[:1]), atol=1e-6)


def test_the_attention_of_every_layer_is_fused_and_quantized(minilm, int8, tmp_path_factory):
    import onnx

    made = next(p for p in tmp_path_factory.getbasetemp().rglob(QUANTIZED))
    ops = Counter(node.op_type for node in onnx.load(str(made)).graph.node)
    layers = 6  # all-MiniLM-L6-v2
    assert ops["QAttention"] == layers and ops["SkipLayerNormalization"] == 2 * layers and ops["BiasGelu"] == layers
    assert ops["EmbedLayerNormalization"] == 1  # float: quantizing the embeddings moves the vectors more


def test_a_prompt_is_put_before_the_text(int8):
    plain, prompted = int8.encode(["capital expenditure"]), int8.encode(["capital expenditure"], prompt="query: ")
    assert np.allclose(prompted, int8.encode(["query: capital expenditure"]), atol=1e-6)
    assert not np.allclose(plain, prompted, atol=1e-3)


def test_a_model_onnxruntime_cannot_run_here_falls_back_to_torch(tmp_path, minilm, caplog):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    model = SentenceTransformer(str(minilm.folder), device="cpu")
    max_pooled = SentenceTransformer(modules=[model[0], Pooling(model.get_embedding_dimension(), "max")])
    with pytest.raises(ValueError, match="mean/cls"):
        pooling_mode(max_pooled)
    folder = tmp_path / "max-pooled"
    max_pooled.save(str(folder))
    spec = EmbeddingSpec(key="max", folder=folder, preset=EmbeddingPreset(name="max", backend="onnx-int8"))
    with caplog.at_level(logging.WARNING):
        embedder = Embedder(spec)
    assert type(embedder.model).__name__ == "SentenceTransformer"
    assert "runs on torch" in caplog.text
    assert len(embedder.encode(["still works"])[0]) == model.get_embedding_dimension()
