"""Tiny Qwen3.5 checkpoints as the hub ships them (vision-language, Gated DeltaNet + full attention; dense and MoE)
through Lorag's whole path: estimate, load text-only, chat with thinking on and off, train an adapter whose LoRA
reaches the DeltaNet projections (and the experts), hot-swap it against a second adapter, merge and export."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch
from safetensors import safe_open

from engine.models.fit import fit_lines
from engine.models.generation import GenerationParams
from engine.models.presets import model_presets
from engine.settings import Settings
from engine.studio import Studio
from engine.training.config import TrainingConfig
from engine.training.jobfiles import JobFiles, JobSpec
from engine.training.trainer import run_job
from tests.support.adapters import make_random_adapter

GREEDY = GenerationParams(temperature=0, max_new_tokens=6)
PROMPT = "Hello world, the capital of France is"
DELTANET = {"in_proj_qkv", "in_proj_z", "in_proj_a", "in_proj_b", "out_proj"}
ROWS = [{"messages": [{"role": "user", "content": "what is two plus two?"}, {"role": "assistant", "content": "four"}]},
        {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hello world"}]}] * 3


@pytest.fixture(params=["tiny_qwen35", "tiny_qwen35_moe"])
def base(request):
    return request.param == "tiny_qwen35_moe", request.getfixturevalue(request.param)


@pytest.fixture
def studio(tmp_path):
    studio = Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True))
    yield studio
    studio.close()


def tensor_sizes(path) -> dict[str, int]:
    """Elements of each tensor in a safetensors file, read from its header."""
    with safe_open(str(path), "pt") as f:
        return {k: math.prod(f.get_slice(k).get_shape()) for k in f.keys()}


CURRENT = {"qwen3.5-0.8b", "qwen3.5-2b", "qwen3.5-4b", "qwen3.5-9b", "qwen3.5-27b", "qwen3.5-35b-a3b", "qwen3.6-27b",
           "qwen3.6-35b-a3b", "qwen3.8-27b"}


def test_presets_list_the_current_families_and_say_what_fits(studio):
    presets = model_presets()
    assert CURRENT <= set(presets)
    for name in CURRENT:
        preset = presets[name]
        assert preset.hub_id.startswith("Qwen/Qwen3.") and preset.thinking == "switchable"
        assert preset.text_params_b <= preset.params_b and preset.recommended
    estimate = studio.models.estimate("qwen3.6-35b-a3b", device="cpu", quantization="4bit")
    assert estimate.params == int(34.7e9) and estimate.vision_params == int(1.3e9)
    summary = estimate.summary()
    assert "vision tower (1.30 B parameters" in summary and "from the preset's size" in summary
    lines = {line.mode: line.needed_bytes for line in fit_lines(estimate.params, 0, 96 * 10**9)}
    assert lines["chat 4bit"] < lines["chat 8bit"] < lines["chat bf16"]
    assert lines["QLoRA (4-bit base)"] < lines["LoRA (bf16 base)"]


def test_estimate_then_load_text_only(studio, base):
    _, folder = base
    tensors = tensor_sizes(folder / "model.safetensors")
    vision = sum(n for k, n in tensors.items() if ".visual." in k)
    estimate = studio.models.estimate(str(folder), device="cpu")
    assert estimate.vision_params == vision > 0
    assert estimate.kv_bytes_per_1k == 2 * 1 * 2 * 16 * 2 * 1000   # one full-attention layer of four
    assert "vision tower" in estimate.summary() and "QLoRA (4-bit base)" in estimate.summary()
    loaded = studio.models.load(str(folder), device="cpu")
    assert loaded.params == sum(tensors.values()) - vision == estimate.params
    assert loaded.switches == ["enable_thinking"] + (["preserve_thinking"] if base[0] else [])


def test_chat_thinking_on_and_off(studio, base):
    studio.models.load(str(base[1]), device="cpu")
    chat = [{"role": "user", "content": "hi"}]
    assert studio.models.render_prompt(chat, thinking=True).endswith("<|im_start|>assistant\n<think>\n")
    off = list(studio.models.stream_chat(chat, GREEDY, thinking=False))
    on = list(studio.models.stream_chat(chat, GREEDY, thinking=True))
    assert off[-1].kind == on[-1].kind == "done"
    assert on[-1].prompt.endswith("<think>\n") and off[-1].prompt.endswith("<think>\n\n</think>\n\n")
    assert {e.kind for e in on[:-1]} == {"reasoning"}   # a random model never closes </think> in six tokens
    assert "<think>" not in off[-1].answer


def train(studio, base_folder, name: str, **changes):
    dataset = studio.data_dir / "rows.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    stored, _ = studio.training.upload(dataset)
    config = TrainingConfig(base_model=str(base_folder), adapter_name=name, dataset=stored.sha256, max_steps=2,
                            batch_size=2, max_length=96, save_steps=100, logging_steps=1, lora_rank=4, lora_alpha=8,
                            learning_rate=1e-2, cpu_threads=1).merged(changes).validate()
    resolved = studio.training.check_config(config)
    job = studio.jobs.create("training", name, config.to_dict())
    spec = JobSpec(job.id, str(studio.data_dir), resolved.source, resolved.label, "cpu", config.to_dict())
    outcome = run_job(spec, JobFiles(studio.jobs.folder(job.id)), studio.jobs, threading.Event(), resume=False)
    assert outcome.status == "completed", outcome.message
    return config, studio.settings.path("adapters", name)


def test_train_swap_merge(studio, base, tmp_path):
    moe, folder = base
    config, adapter = train(studio, folder, "tiny35", lora_dropout=0.0)
    plan = studio.training.lora_plan(config)
    assert DELTANET <= set(plan.modules) and {"q_proj", "o_proj", "gate_proj"} <= set(plan.modules)
    assert ({"experts.gate_up_proj", "experts.down_proj"} <= set(plan.modules)) is moe
    # the preview counts what training saves
    assert sum(tensor_sizes(adapter / "adapter_model.safetensors").values()) == plan.trainable
    targets = json.loads((adapter / "lorag.json").read_text())["target_modules"]
    assert ("mlp.experts.gate_up_proj" in targets) is moe

    studio.adapters.import_folder(make_random_adapter(folder, tmp_path / "other", seed=3,
                                                      targets=("in_proj_qkv", "out_proj")), "other")
    studio.models.load(str(folder), device="cpu")
    logits = studio.models.next_token_logits
    none, trained, other = logits(PROMPT), logits(PROMPT, "tiny35"), logits(PROMPT, "other")
    assert not torch.equal(trained, none) and not torch.equal(other, none) and not torch.equal(trained, other)
    assert torch.equal(logits(PROMPT, "tiny35"), trained) and torch.equal(logits(PROMPT), none)
    assert list(studio.models.stream_chat([{"role": "user", "content": "hi"}], GREEDY, adapter="tiny35"))

    merged = studio.adapters.merge_export("tiny35", "tiny35-merged")
    studio.models.load(str(merged), device="cpu")
    assert torch.allclose(logits(PROMPT), trained, atol=1e-4)


def test_api_takes_the_template_switches(studio, tiny_qwen35_moe):
    """/v1/chat/completions passes chat_template_kwargs' preserve_thinking and reasoning_effort to the template; a
    switch the template lacks (effort on Qwen3.6) is a 400 before anything streams."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from engine.access import AccessPlan
    from engine.api.mount import api_routes

    studio.settings.api, studio.settings.api_key, studio.access = True, "", AccessPlan()
    name = studio.models.load(str(tiny_qwen35_moe), device="cpu").name
    body = {"model": name, "temperature": 0, "max_tokens": 4,
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                         {"role": "user", "content": "again"}]}
    with TestClient(Starlette(routes=api_routes(studio))) as http:
        kept = http.post("/v1/chat/completions", json={**body, "chat_template_kwargs": {"preserve_thinking": True}})
        refused = http.post("/v1/chat/completions", json={**body, "chat_template_kwargs": {"reasoning_effort": "low"}})
    assert kept.status_code == 200, kept.text
    assert refused.status_code == 400 and "no reasoning effort switch" in refused.json()["error"]["message"]
