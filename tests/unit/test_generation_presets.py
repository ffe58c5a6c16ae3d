"""Generation settings and the model / generation presets (YAML data)."""

from __future__ import annotations

import pytest

from engine.errors import LoragError
from engine.models.generation import GenerationParams, generation_presets
from engine.models.presets import model_presets, preset_for_hub_id


def test_qwen_recommended_sampling():
    thinking = GenerationParams.from_preset("qwen3-thinking")
    assert (thinking.temperature, thinking.top_p, thinking.top_k, thinking.min_p) == (0.6, 0.95, 20, 0.0)
    plain = GenerationParams.from_preset("qwen3-non-thinking")
    assert (plain.temperature, plain.top_p, plain.top_k, plain.min_p) == (0.7, 0.8, 20, 0.0)
    assert GenerationParams.from_preset("qwen2.5").repetition_penalty == 1.05


def test_every_generation_preset_is_valid():
    presets = generation_presets()
    assert {"default", "deterministic", "qwen3-thinking", "qwen3-non-thinking", "qwen2.5"} <= set(presets)
    for name, data in presets.items():
        assert data.get("label"), name
        GenerationParams.from_preset(name)


def test_every_model_preset_is_complete():
    presets = model_presets()
    names = list(presets)
    assert names[0] == "smollm2-135m-demo" and presets[names[0]].demo
    assert "Offline demo" in presets[names[0]].label and "not Qwen" in presets[names[0]].label
    families = {p.family for p in presets.values()}
    assert {"qwen2.5", "qwen2.5-coder", "qwen3", "smollm2"} <= families
    expected = {"Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct",
                "Qwen/Qwen3-0.6B", "Qwen/Qwen3-32B", "Qwen/Qwen3-30B-A3B"}
    assert expected <= {p.hub_id for p in presets.values()}
    known_generation = set(generation_presets())
    for preset in presets.values():
        assert preset.label and preset.context_length > 0 and preset.params_b > 0
        assert set(preset.generation.values()) <= known_generation, preset.name
        budgets = [line["memory_gb"] for line in preset.recommended]
        assert budgets == sorted(budgets, reverse=True), preset.name
        if preset.family == "qwen3":
            assert preset.thinking == "switchable" and preset.generation_preset(True) == "qwen3-thinking"


def test_recommendation_follows_memory():
    preset = model_presets()["qwen3-8b"]
    assert preset.recommend(64)["quantization"] == "none"
    assert preset.recommend(14)["quantization"] == "8bit"
    assert preset.recommend(9)["quantization"] == "4bit"
    assert preset.recommend(1)["quantization"] == "4bit"  # nothing fits: the smallest
    assert preset_for_hub_id("qwen/qwen3-8b").name == "qwen3-8b"


@pytest.mark.parametrize("bad", [{"temperature": -1}, {"top_p": 0}, {"top_p": 1.5}, {"max_new_tokens": 0},
                                 {"min_p": 1}, {"repetition_penalty": 0}, {"top_k": -3}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(LoragError, match="Generation setting"):
        GenerationParams(**bad)


def test_generate_kwargs():
    greedy = GenerationParams(temperature=0).generate_kwargs()
    assert greedy["do_sample"] is False and greedy["temperature"] is None
    sampled = GenerationParams(temperature=0.6, top_p=0.95, top_k=0, min_p=0.05).generate_kwargs()
    assert sampled["do_sample"] and sampled["top_k"] is None and sampled["min_p"] == 0.05
    assert GenerationParams(stop="###").stop == ["###"]
    assert GenerationParams.from_dict({"temperature": 0.1, "label": "ignored"}).temperature == 0.1
