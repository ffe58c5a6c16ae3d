"""The parts of "How long will it take?" that need no worker: tokens counted with the base's own tokenizer over the
prepared rows (max length, epochs, assistant-only), the padded tokens a run computes on, the cache key and lookup,
and the duration and timing arithmetic."""

from __future__ import annotations

import json

import pytest

from engine.training.config import TrainingConfig
from engine.training.datasets import DatasetStore
from engine.training.encoding import Encoded
from engine.training.estimate import (
    EstimateCache,
    duration_parts,
    from_cache,
    length_class,
    speed_key,
    timing,
    timing_text,
)
from engine.training.plan import batch_padded, evaluations, planned_steps, token_plan
from engine.training.prepare import Prepared, prepare

LONG = "A LoRA adapter adds low-rank matrices to the attention and MLP projections of a model. " * 6
ROWS = [{"messages": [{"role": "user", "content": f"question {i}: {LONG if i % 3 == 0 else 'hello'}"},
                      {"role": "assistant", "content": "The capital of France is Paris." * (1 + i % 2)}]}
        for i in range(12)]


@pytest.fixture
def rows(tmp_path, tiny_qwen3_own_tokenizer):
    from transformers import AutoTokenizer

    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    store = DatasetStore(tmp_path / "datasets", 1 << 30)
    sha = store.add(path).sha256
    return store, sha, AutoTokenizer.from_pretrained(tiny_qwen3_own_tokenizer)


def _prepared(rows, **changes) -> tuple[TrainingConfig, Prepared]:
    store, sha, tokenizer = rows
    config = TrainingConfig(dataset=sha, batch_size=2).merged(changes)
    return config, prepare(config, store, tokenizer)


def test_tokens_follow_the_tokenizer_the_max_length_and_the_epochs(rows):
    tokenizer = rows[2]
    full = [tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"] for r in ROWS]
    config, prepared = _prepared(rows, max_length=4096, epochs=2)
    plan = token_plan(config, prepared)
    assert plan.tokens == sum(len(ids) for ids in full) and plan.rows == 12
    assert plan.steps == 12 and plan.epochs == 2 and plan.run_tokens == 2 * plan.tokens
    assert 0 < plan.trained_tokens < plan.tokens and plan.run_trained_tokens == 2 * plan.trained_tokens

    cut_config, cut = _prepared(rows, max_length=24, epochs=2)
    cut_plan = token_plan(cut_config, cut)
    assert cut_plan.tokens == sum(min(24, len(ids)) for ids in full) < plan.tokens
    assert cut_plan.trained_tokens < plan.trained_tokens  # the long rows lose their answers past 24 tokens

    every_config, every = _prepared(rows, max_length=4096, epochs=2, assistant_only=False)
    assert token_plan(every_config, every).trained_tokens == plan.tokens


def test_max_steps_and_validation_change_the_rows_and_the_passes(rows):
    config, prepared = _prepared(rows, max_length=4096, max_steps=3, validation_split=0.25)
    plan = token_plan(config, prepared)
    assert plan.rows == 9 and plan.eval_rows == 3 and plan.steps == 3
    assert plan.epochs == pytest.approx(3 / 5)  # 3 of the 5 batches an epoch of 9 rows makes
    assert plan.eval_padded_tokens >= sum(len(r.input_ids) for r in prepared.eval)


def test_padded_tokens_pad_each_batch_to_its_longest_row():
    assert batch_padded([10, 10, 10, 10], 2, 2, seed=0) == 40
    assert batch_padded([5, 30], 2, 1, seed=0) == 60
    assert batch_padded([5, 30], 2, 3, seed=0) == 180  # three epochs of one batch
    assert batch_padded([5, 30, 7], 1, 3, seed=0) == 42  # batch 1: no padding
    assert batch_padded([], 4, 10, seed=0) == 0


def test_packing_counts_full_sequences_without_padding():
    rows = [Encoded(list(range(n)), [1] * n) for n in (30, 50, 40)]
    prepared = Prepared(rows, [], report=None, plan=None, tokens=120, trained_tokens=120)
    config = TrainingConfig(packing=True, max_length=64, batch_size=1, epochs=1)
    plan = token_plan(config, prepared)
    assert plan.rows == 2 and plan.steps == 2 and plan.padded_tokens == 120


def test_planned_steps_and_evaluations():
    config = TrainingConfig(batch_size=4, grad_accum=2, epochs=1.5)
    assert planned_steps(config, 33) == 8  # 9 batches -> 5 steps an epoch
    assert evaluations(TrainingConfig(eval_steps=4), 10) == 3  # steps 4, 8 and the last one
    assert evaluations(TrainingConfig(), 40) == 10


def _key(config: TrainingConfig, lengths=(100, 120, 90), source="/models/base"):
    return speed_key(source, "cpu", config, list(lengths))


def test_the_key_holds_what_changes_the_speed_and_nothing_else():
    config = TrainingConfig(base_model="/models/base", dataset="a" * 64)
    same = [{"learning_rate": 1e-3}, {"epochs": 9}, {"dataset": "b" * 64}, {"adapter_name": "x"}, {"seed": 7},
            {"max_steps": 500}]
    for change in same:
        assert _key(config.merged(change)) == _key(config), change
    speed = [{"batch_size": 8}, {"max_length": 256}, {"lora_rank": 64}, {"target_modules": "q_proj,v_proj"},
             {"quantization": "4bit"}, {"gradient_checkpointing": "on"}, {"cpu_threads": 2}, {"grad_accum": 4}]
    for change in speed:
        assert _key(config.merged(change)) != _key(config), change
    assert _key(config, lengths=(900, 1000, 1100)) != _key(config)  # much longer rows
    assert _key(config, source="/models/other") != _key(config)
    assert speed_key("/models/base", "cuda", config, [100]) != speed_key("/models/base", "cpu", config, [100])
    assert length_class([100, 120, 90]) == 128 and length_class([]) == 0


def test_the_cache_answers_only_its_own_key(tmp_path):
    cache = EstimateCache(tmp_path / "estimates")
    config = TrainingConfig()
    key = _key(config)
    assert cache.get(key) is None
    cache.put(key, {"s_per_step": 2.0, "startup_s": 5.0}, "job1")
    assert cache.get(key)["calibration"]["s_per_step"] == 2.0 and cache.get(key)["job_id"] == "job1"
    assert cache.get(_key(config.merged({"batch_size": 16}))) is None
    cache.path(key).write_text("{broken")
    assert cache.get(key) is None


def test_the_duration_adds_startup_tokens_evaluations_and_saves(rows, tmp_path):
    calibration = {"startup_s": 10.0, "s_per_step": 2.0, "s_per_padded_token": 0.01, "save_s": 1.5}
    config, prepared = _prepared(rows, max_length=4096, epochs=1, validation_split=0.25, save_steps=2)
    plan = token_plan(config, prepared)
    parts = duration_parts(calibration, plan, config)
    assert parts["startup_s"] == 10.0 and parts["train_s"] == pytest.approx(plan.padded_tokens * 0.01)
    assert parts["eval_s"] == pytest.approx(evaluations(config, plan.steps) * plan.eval_padded_tokens * 0.01 / 3)
    assert parts["save_s"] == (plan.steps // 2 + 1) * 1.5

    cache = EstimateCache(tmp_path / "estimates")
    estimate, key = from_cache(cache, "/models/base", "cpu", config, prepared)
    assert estimate.duration_s is None and estimate.source == ""
    cache.put(key, calibration)
    estimate, _ = from_cache(cache, "/models/base", "cpu", config, prepared)
    assert estimate.source == "cache" and estimate.duration_s == pytest.approx(sum(parts.values()))
    assert "Estimated duration" in estimate.summary() and "from the cache" in estimate.summary()


def test_preference_runs_are_timed_by_steps():
    calibration = {"startup_s": 3.0, "s_per_step": 2.0, "s_per_padded_token": 0.01, "save_s": 0.0}
    rows = [Encoded([1] * 20, [0] * 10 + [1] * 10, rejected_ids=[1] * 25) for _ in range(8)]
    prepared = Prepared(rows, [], report=None, plan=None, tokens=200, trained_tokens=100)
    config = TrainingConfig(method="dpo", batch_size=2, epochs=1)
    assert duration_parts(calibration, token_plan(config, prepared), config)["train_s"] == 4 * 2.0


def test_timing_compares_the_estimate_with_the_real_time():
    from engine.training.estimate import Estimate
    from engine.training.plan import TokenPlan

    estimate = Estimate(TokenPlan(1, 0, 1, 1.0, 1, 1, 1, 0), duration_s=100.0, source="cache")
    record = timing(estimate, 120.0)
    assert record["estimate_s"] == 100.0 and record["real_s"] == 120.0 and record["real_over_estimate"] == 1.2
    assert timing_text(record) == "Took 2m 00s, estimated 1m 40s; real/estimate 1.20."
    assert timing(estimate, 50.0, resumed=True)["real_over_estimate"] is None
    assert "no estimate" in timing_text(timing(None, 50.0))
