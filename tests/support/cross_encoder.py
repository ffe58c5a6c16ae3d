"""A tiny cross-encoder (BERT, random weights, a word-level vocabulary the test writes) saved as a folder that
sentence-transformers' CrossEncoder loads: enough to prove the reranking stage runs and decides the order."""

from __future__ import annotations

import re
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_cross_encoder(folder: Path, corpus: list[str], seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    words = sorted({w for text in corpus for w in re.findall(r"\w+|[^\w\s]", text.lower())})
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(SPECIAL + words)}
    tokenizer = BertTokenizerFast(vocab=vocab, do_lower_case=True)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(SPECIAL) + len(words), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
