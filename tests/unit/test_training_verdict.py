"""A run that learns, or says why not: the loss curve judged in words, with the likely cause."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.training.verdict import RunFacts, judge
from tests.unit.test_training_train import studio_in, train

GOOD = RunFacts(steps=40, learning_rate=2e-4, tokens=1000, trained_tokens=400)


def test_a_falling_loss_is_reported_as_learned():
    verdict = judge([2.5, 2.4, 2.0, 1.6, 1.3, 1.1, 1.0, 0.9], GOOD)
    assert verdict.learned and verdict.message.startswith("The loss fell from 2.4500 to 0.9500 over 40 step(s)")


@pytest.mark.parametrize("losses, facts, causes", [
    ([2.5, 2.5, 2.49], RunFacts(steps=3, learning_rate=2e-4), ["only 3 optimizer step(s)"]),
    ([2.5] * 20, RunFacts(steps=60, learning_rate=1e-6), ["learning rate 1e-06 is low for LoRA"]),
    ([2.5] * 20, RunFacts(steps=60, learning_rate=2e-4, tokens=10_000, trained_tokens=30), ["only 0.3% of the tokens"]),
    ([2.0, 2.2, 2.9, 3.5, 4.0, 4.4, 5.0, 6.0], RunFacts(steps=40, learning_rate=0.05), ["probably too high"]),
    ([0.03, 0.03, 0.031, 0.03], RunFacts(steps=40, learning_rate=2e-4), ["already 0.030 at the start"]),
    ([2.5] * 20, GOOD, ["no obvious cause"]),
])
def test_a_flat_or_rising_loss_says_so_with_the_likely_cause(losses, facts, causes):
    verdict = judge(losses, facts)
    assert not verdict.learned
    assert ("rose" if losses[-1] > losses[0] * 1.2 else "did not fall") in verdict.message
    for cause in causes:
        assert cause in verdict.message


def test_nan_overfitting_memorising_and_no_log():
    nan = judge([2.0, 1.5, math.nan], GOOD)
    assert not nan.learned and "became nan" in nan.message and "not usable" in nan.message
    overfit = judge([2.0, 1.0, 0.5, 0.3], RunFacts(40, 2e-4, eval_losses=(2.1, 1.5, 1.6, 2.0)))
    assert overfit.learned and "overfitting" in overfit.message and "best 1.5000" in overfit.message
    assert "memorised" in judge([2.0, 0.5, 0.01, 0.005], GOOD).message
    assert not judge([], GOOD).learned


def rows_file(tmp_path: Path, rows: list[dict], name: str = "rows.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


ROW = {"messages": [{"role": "user", "content": "what is two plus two?"}, {"role": "assistant", "content": "four"}]}


def test_a_real_run_that_learns_says_so(tmp_path, tiny_qwen3_own_tokenizer):
    outcome, _, _ = train(studio_in(tmp_path), rows_file(tmp_path, [ROW] * 4), tiny_qwen3_own_tokenizer, "learns",
                          max_steps=12, learning_rate=1e-2)
    metrics = outcome.result["metrics"]
    assert outcome.status == "completed" and metrics["learned"], outcome.message
    assert "The loss fell" in outcome.message and metrics["verdict"] in outcome.message


def test_a_real_run_with_a_tiny_learning_rate_says_why_it_did_not_learn(tmp_path, tiny_qwen3_own_tokenizer, caplog):
    caplog.set_level("WARNING", logger="engine.training.trainer")
    outcome, _, _ = train(studio_in(tmp_path), rows_file(tmp_path, [ROW] * 4), tiny_qwen3_own_tokenizer, "stuck",
                            max_steps=3, learning_rate=1e-7)
    assert outcome.status == "completed" and not outcome.result["metrics"]["learned"]
    assert "did not fall" in outcome.message
    assert "only 3 optimizer step(s)" in outcome.message and "learning rate 1e-07 is low" in outcome.message
    before = [r.getMessage() for r in caplog.records if "the loss may not fall" in r.getMessage()]
    assert before and "only 3 optimizer step(s)" in before[0]  # said before training, in the job log


def test_a_max_length_that_cuts_every_answer_is_refused(tmp_path, tiny_qwen3_own_tokenizer):
    long_prompt = {"messages": [{"role": "user", "content": "please " * 40}, {"role": "assistant", "content": "no"}]}
    with pytest.raises(LoragError, match="Nothing would be trained.*beyond the max length of 16"):
        train(studio_in(tmp_path), rows_file(tmp_path, [long_prompt] * 3), tiny_qwen3_own_tokenizer, "cut",
              max_length=16)
