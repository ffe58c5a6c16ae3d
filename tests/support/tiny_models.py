"""Tiny random Qwen models on disk, built by the tests themselves.

Two tokenizers:
- `real`: the real Qwen2 BPE vocab + merges from ../shared/fixtures/qwen2-tokenizer (tokenization is
  exactly Qwen's; the Qwen3 added tokens and a real Qwen3 template for qwen3),
- `trained`: a byte-level BPE trained here on a few sentences, with Qwen's special tokens and a
  ChatML template written in this file, so unit tests also run without ../shared.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<tool_call>",
                  "</tool_call>", "<tool_response>", "</tool_response>"]

# A ChatML template in Qwen's style (ours, for the self-trained tokenizer): system / user / assistant / tool turns,
# {% generation %} markers so trl's assistant-only loss can use it.
CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

CORPUS = [
    "The capital of France is Paris. The capital of Germany is Berlin.",
    "Lorag is a local studio for Qwen models: chat, adapters, training and documents.",
    "A LoRA adapter adds low-rank matrices to the attention and MLP projections of a model.",
    "Weaviate stores vectors and text; hybrid search mixes BM25 and vector similarity.",
    "Question: what is two plus two? Answer: four. Question: what colour is the sky? Answer: blue.",
    "user assistant system tool think answer hello world please thank you yes no",
] * 20


def _tiny_config(arch: str, vocab_size: int, eos_id: int, pad_id: int):
    common = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                  tie_word_embeddings=True, eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=None)
    if arch == "qwen3":
        from transformers import Qwen3Config

        return Qwen3Config(head_dim=8, **common)
    if arch == "qwen2":
        from transformers import Qwen2Config

        return Qwen2Config(**common)
    raise ValueError(arch)


def _real_tokenizer(arch: str, shared: Path, folder: Path):
    from transformers import AutoTokenizer

    src = shared / "fixtures" / "qwen2-tokenizer"
    for name in ("vocab.json", "merges.txt", "LICENSE"):
        shutil.copy(src / name, folder / name)
    config = json.loads((src / "tokenizer_config.json").read_text())
    if arch == "qwen3":
        config["added_tokens_decoder"] = json.loads((src / "qwen3_added_tokens_decoder.json").read_text())
        config["chat_template"] = (shared / "fixtures" / "chat-templates" / "qwen3_nonthinking.jinja").read_text()
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    return tokenizer


def _trained_tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                        additional_special_tokens=SPECIAL_TOKENS[1:])
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_qwen(folder: Path, arch: str = "qwen3", tokenizer: str = "real", shared: Path | None = None,
                    seed: int = 0) -> Path:
    """Write a tiny random `arch` model with its tokenizer into `folder` and return the folder."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if tokenizer == "real":
        if shared is None:
            raise ValueError("the real tokenizer needs the ../shared folder")
        tok = _real_tokenizer(arch, shared, folder)
        vocab_size = 151936  # Qwen's padded embedding size
    else:
        tok = _trained_tokenizer(folder)
        vocab_size = len(tok)
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    config = _tiny_config(arch, vocab_size, tok.convert_tokens_to_ids("<|im_end|>"),
                          tok.convert_tokens_to_ids("<|endoftext|>"))
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    model.save_pretrained(folder)
    return folder
