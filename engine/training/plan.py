"""What a run will process, before it starts: optimizer steps, the tokens it trains, and the tokens the model really
computes on (every batch is padded to its longest row). Pure Python over the prepared rows: no model, no torch."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any


def processes_of(config: Any) -> int:
    return max(1, int(getattr(config, "processes", 1) or 1))


def planned_steps(config: Any, rows: int) -> int:
    """Optimizer steps of a run over `rows` training rows (or packed sequences). With several processes each takes
    every n-th batch of batch_size rows (accelerate's sharding), so an epoch has n times fewer steps."""
    if config.max_steps:
        return config.max_steps
    per_process = math.ceil(math.ceil(rows / config.batch_size) / processes_of(config))
    per_epoch = math.ceil(per_process / config.grad_accum)
    return max(1, math.ceil(config.epochs * per_epoch))


@dataclass
class TokenPlan:
    rows: int                    # training rows (packing: packed sequences)
    eval_rows: int
    steps: int                   # optimizer steps
    epochs: float                # passes over the training rows the steps make
    tokens: int                  # one pass, as the model sees them (cut at max length unless packing)
    trained_tokens: int          # one pass, the tokens the loss is computed on
    padded_tokens: int           # the whole run, padding included: what the compute time follows
    eval_padded_tokens: int      # one evaluation pass over the held-out rows
    preference: bool = False     # DPO / ORPO: the speed is measured per step, not per token

    @property
    def run_tokens(self) -> int:
        return round(self.tokens * self.epochs)

    @property
    def run_trained_tokens(self) -> int:
        return round(self.trained_tokens * self.epochs)

    def summary(self) -> str:
        return (f"{self.run_tokens:,} tokens over {self.steps} steps ({self.epochs:.2g} epochs of {self.rows} rows), "
                f"{self.run_trained_tokens:,} of them trained (the loss is on those); "
                f"{self.tokens:,} tokens, {self.trained_tokens:,} trained per epoch.")


def batch_padded(lengths: list[int], batch_size: int, micro_batches: int, seed: int) -> int:
    """Tokens in `micro_batches` batches drawn as the trainer draws them (a fresh shuffle each epoch, each batch padded
    to its longest row)."""
    if not lengths:
        return 0
    rng, total, drawn = random.Random(seed), 0, 0
    while drawn < micro_batches:
        order = lengths[:]
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            if drawn == micro_batches:
                break
            batch = order[start:start + batch_size]
            total += len(batch) * max(batch)
            drawn += 1
    return total


def _lengths(rows: list[Any], max_length: int) -> list[int]:
    return [min(max(len(r.input_ids), len(r.rejected_ids or ())), max_length) for r in rows]


def _packed(lengths: list[int], max_length: int) -> list[int]:
    """Packing fills sequences of max_length (no padding): as many as the tokens need."""
    total = sum(lengths)
    full, rest = divmod(total, max_length)
    return [max_length] * full + ([rest] if rest else [])


def token_plan(config: Any, prepared: Any) -> TokenPlan:
    """The run `config` makes over `prepared` (engine.training.prepare.Prepared)."""
    cut = 1 << 62 if config.packing else config.max_length
    lengths = _lengths(prepared.train, cut)
    if config.packing:
        lengths = _packed(lengths, config.max_length)
    steps = planned_steps(config, len(lengths))
    micro = steps * config.grad_accum * processes_of(config)   # batches of batch_size rows, all processes together
    per_epoch = math.ceil(len(lengths) / config.batch_size)
    eval_lengths = _lengths(prepared.eval, config.max_length)
    return TokenPlan(rows=len(lengths), eval_rows=len(prepared.eval), steps=steps, epochs=micro / per_epoch,
                     tokens=prepared.tokens, trained_tokens=prepared.trained_tokens,
                     padded_tokens=batch_padded(lengths, config.batch_size, micro, config.seed),
                     eval_padded_tokens=batch_padded(eval_lengths, config.batch_size,
                                                     math.ceil(len(eval_lengths) / config.batch_size), 0),
                     preference=config.method != "sft")


def auto_eval_steps(total: int) -> int:
    """About ten evals over a run; short runs: the middle and the end."""
    return max(1, math.ceil(total / 10)) if total > 20 else max(1, total // 2)


def evaluations(config: Any, steps: int) -> int:
    """How many eval passes a run with held-out rows makes (the worker adds one at the end when the last step had
    none)."""
    every = config.eval_steps or auto_eval_steps(steps)
    return steps // every + (1 if steps % every else 0)
