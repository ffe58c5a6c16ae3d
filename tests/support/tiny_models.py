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


QWEN35_ARCHS = ("qwen3_5", "qwen3_5_moe")


def _tiny_qwen35(arch: str, vocab_size: int, eos_id: int, pad_id: int):
    """A Qwen3.5 vision-language checkpoint as the hub ships it: 3 Gated DeltaNet layers and 1 full-attention layer
    (MoE: 4 experts, 2 routed + a shared one), and a one-block vision tower."""
    text = dict(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                layer_types=["linear_attention"] * 3 + ["full_attention"], linear_num_key_heads=2,
                linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=16,
                max_position_embeddings=4096, tie_word_embeddings=False, eos_token_id=eos_id, pad_token_id=pad_id)
    vision = dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64)
    if arch == "qwen3_5":
        from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration

        return Qwen3_5ForConditionalGeneration(Qwen3_5Config(text_config=text, vision_config=vision,
                                                             tie_word_embeddings=False))
    from transformers import Qwen3_5MoeConfig, Qwen3_5MoeForConditionalGeneration

    text.update(moe_intermediate_size=32, shared_expert_intermediate_size=32, num_experts=4, num_experts_per_tok=2)
    return Qwen3_5MoeForConditionalGeneration(Qwen3_5MoeConfig(text_config=text, vision_config=vision,
                                                               tie_word_embeddings=False))


def trl_template(name: str) -> str:
    """One of the real chat templates trl ships (trl/chat_templates/<name>.jinja: Qwen3.5, 3.6, 3.8...)."""
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / f"{name}.jinja").read_text()


def _real_tokenizer(arch: str, shared: Path, folder: Path, template: str = ""):
    from transformers import AutoTokenizer

    src = shared / "fixtures" / "qwen2-tokenizer"
    for name in ("vocab.json", "merges.txt", "LICENSE"):
        shutil.copy(src / name, folder / name)
    config = json.loads((src / "tokenizer_config.json").read_text())
    if arch == "qwen3" or arch in QWEN35_ARCHS:
        config["added_tokens_decoder"] = json.loads((src / "qwen3_added_tokens_decoder.json").read_text())
        config["chat_template"] = (shared / "fixtures" / "chat-templates" / "qwen3_nonthinking.jinja").read_text()
    if template:
        config["chat_template"] = trl_template(template)
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
                    seed: int = 0, template: str = "") -> Path:
    """Write a tiny random `arch` model with its tokenizer into `folder` and return the folder. `template`: a trl
    template name replacing the tokenizer's (the Qwen3.5 archs need one: their real tokenizer is not in ../shared,
    so they use Qwen's BPE with the Qwen3 added tokens and the real Qwen3.5 / 3.6 / 3.8 template)."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if tokenizer == "real":
        if shared is None:
            raise ValueError("the real tokenizer needs the ../shared folder")
        tok = _real_tokenizer(arch, shared, folder, template)
        vocab_size = 151936  # Qwen's padded embedding size
    else:
        tok = _trained_tokenizer(folder)
        vocab_size = len(tok)
    tok.save_pretrained(folder)
    torch.manual_seed(seed)
    ids = (vocab_size, tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>"))
    if arch in QWEN35_ARCHS:
        model = _tiny_qwen35(arch, *ids)
    else:
        model = AutoModelForCausalLM.from_config(_tiny_config(arch, *ids))
    model.generation_config.eos_token_id = ids[1]
    model.generation_config.pad_token_id = ids[2]
    model.save_pretrained(folder)
    return folder


def qwen35_tokenizer(folder: Path, shared: Path, template: str):
    """Only the tokenizer of a tiny Qwen3.5 (Qwen's BPE, the Qwen3 added tokens, a real trl template), saved."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _real_tokenizer("qwen3_5", shared, folder, template)
    tokenizer.save_pretrained(folder)
    return tokenizer
