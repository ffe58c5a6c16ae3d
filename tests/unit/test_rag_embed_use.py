"""The offline multilingual preset: Universal Sentence Encoder multilingual v3 from its PyPI package, behind
the same Embedder as the sentence-transformers models."""

from __future__ import annotations

import numpy as np

from engine.rag.embed import EmbedderCache, resolve_model
from tests.support.pdf_maker import RUSSIAN_PAGES


def test_the_preset_loads_offline_and_finds_each_russian_page_from_a_russian_question():
    spec = resolve_model("use-multilingual-v3")
    assert (spec.folder / "resources" / "weights.npz").exists()
    embedder = EmbedderCache().get("use-multilingual-v3")
    assert embedder.dimensions == 512
    pages = np.array(embedder.encode([" ".join(page) for page in RUSSIAN_PAGES]))
    assert np.allclose(np.linalg.norm(pages, axis=1), 1.0, atol=1e-4)
    questions = ["Какова наибольшая глубина озера?", "Во сколько отправляется поезд в Петербург?",
                 "Как печь хлеб на закваске?", "Когда основали библиотеку?"]
    scores = np.array(embedder.encode(questions, query=True)) @ pages.T
    assert list(scores.argmax(axis=1)) == [0, 1, 2, 3]
    assert scores.diagonal().min() > embedder.spec.preset.min_similarity  # each answer counts as relevant
    unrelated = np.array(embedder.encode(["Как настроить маршрутизатор Wi-Fi?"], query=True)) @ pages.T
    assert unrelated.max() < embedder.spec.preset.min_similarity


def test_its_tokenizer_counts_tokens_for_the_embeddings_api():
    embedder = EmbedderCache().get("use-multilingual-v3")
    ids = embedder.model.tokenizer(["Озеро Байкал", "a"], add_special_tokens=True)["input_ids"]
    assert len(ids) == 2 and len(ids[0]) > len(ids[1]) >= 3
