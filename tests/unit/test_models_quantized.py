"""4-bit (NF4, double quantization) and 8-bit loading through BitsAndBytesConfig, on the CPU (bitsandbytes 0.50),
with generation and a hot-swapped adapter on the quantized base."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from engine.models.generation import GenerationParams
from engine.models.service import ModelService
from tests.support.adapters import make_random_adapter

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def wide_qwen3(tmp_path_factory, tiny_qwen3):
    """The tiny Qwen3 with hidden size 64: bitsandbytes' CPU 4-bit kernels need rows of at least one
    64-value block."""
    from transformers import AutoConfig, AutoModelForCausalLM

    folder = tmp_path_factory.mktemp("wide") / "wide-qwen3"
    shutil.copytree(tiny_qwen3, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_size=64, intermediate_size=128, head_dim=16)
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder)).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("quantization,layer", [("4bit", "Linear4bit"), ("8bit", "Linear8bitLt")])
def test_quantized_load_on_cpu(tmp_path, wide_qwen3, quantization, layer):
    svc = ModelService(tmp_path / "models", tmp_path / "adapters")
    info = svc.load(str(wide_qwen3), device="cpu", quantization=quantization)
    assert info.quantization == quantization and info.device == "cpu"
    q_proj = svc._loaded.model.model.layers[0].self_attn.q_proj
    assert type(q_proj).__name__ == layer
    full = ModelService(tmp_path / "m2", tmp_path / "a2")
    full_info = full.load(str(wide_qwen3), device="cpu", dtype="fp32")
    assert info.memory_bytes < full_info.memory_bytes
    done = list(svc.stream_chat([{"role": "user", "content": "hi"}],
                                GenerationParams(temperature=0, max_new_tokens=4)))[-1]
    assert done.stats.completion_tokens >= 1
    assert f"{quantization}" in svc.summary()
    svc.unload()
    assert svc.current is None


def test_adapter_hot_swap_on_a_4bit_base(tmp_path, wide_qwen3):
    adapters = tmp_path / "adapters"
    make_random_adapter(wide_qwen3, adapters / "one", seed=1)
    make_random_adapter(wide_qwen3, adapters / "two", seed=2)
    svc = ModelService(tmp_path / "models", adapters)
    svc.load(str(wide_qwen3), device="cpu", quantization="4bit")
    base = svc.next_token_logits(PROMPT)
    one = svc.next_token_logits(PROMPT, "one")
    two = svc.next_token_logits(PROMPT, "two")
    assert not torch.equal(one, base) and not torch.equal(one, two)
    assert torch.equal(svc.next_token_logits(PROMPT, "one"), one)
    assert torch.equal(svc.next_token_logits(PROMPT), base)
    svc.drop_adapter("one")
    svc.drop_adapter("two")
    assert torch.equal(svc.next_token_logits(PROMPT), base)
