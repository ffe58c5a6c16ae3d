"""Did the run learn? The loss curve read in words, with the likely cause when the loss did not fall.

LlamaBoard users keep asking why "nothing happened": too few steps, a learning rate too low for LoRA, hardly any
trained tokens, a loss that was already near zero, or one that blew up. `judge` looks at the logged train losses
and the run's settings and says which, so the job's final message tells the person what to change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FELL = 0.05              # the loss must fall by at least this fraction (start -> end) to count as learning
ROSE = 0.10
FEW_STEPS = 10
LOW_LR = 2e-5            # LoRA usually trains at 1e-4 - 5e-4
FEW_TRAINED = 0.05       # trained tokens / all tokens
ALREADY_LOW = 0.1
MEMORISED = 0.02


@dataclass
class RunFacts:
    """What the verdict needs besides the curve."""

    steps: int
    learning_rate: float
    tokens: int = 0              # all tokens of the training rows
    trained_tokens: int = 0      # the ones the loss is computed on
    eval_losses: tuple[float, ...] = ()
    margins: tuple[float, ...] = ()   # DPO / ORPO: reward of the chosen minus the rejected answer, per log


@dataclass
class Verdict:
    learned: bool
    message: str
    start: float | None = None
    end: float | None = None


def _ends(losses: list[float]) -> tuple[float, float]:
    """Mean of the first and of the last few losses: one noisy batch must not decide."""
    k = max(1, min(5, len(losses) // 4))
    return sum(losses[:k]) / k, sum(losses[-k:]) / k


def setting_causes(facts: RunFacts) -> list[str]:
    """What in the settings or the data can keep the loss from falling (also logged before training starts)."""
    causes = []
    if facts.steps < FEW_STEPS:
        causes.append(f"only {facts.steps} optimizer step(s), too few to move the loss: train more epochs or "
                      "steps, or use a smaller batch / less gradient accumulation")
    if facts.learning_rate < LOW_LR:
        causes.append(f"the learning rate {facts.learning_rate:g} is low for LoRA (1e-4 to 5e-4 is usual)")
    if facts.tokens and facts.trained_tokens / facts.tokens < FEW_TRAINED:
        causes.append(f"only {facts.trained_tokens / facts.tokens:.1%} of the tokens are trained (short answers "
                      "after long prompts, or answers cut by the max length): check the marked tokens in the "
                      "preview, or untick 'train only on assistant turns'")
    return causes


def _causes(facts: RunFacts, start: float, change: float) -> list[str]:
    causes = setting_causes(facts)
    if change < -ROSE:
        causes.insert(0, f"the learning rate ({facts.learning_rate:g}) is probably too high: try a third of it")
    if start < ALREADY_LOW:
        causes.append(f"the loss was already {start:.3f} at the start: the model predicts these answers already")
    return causes


def _overfit(facts: RunFacts) -> str:
    evals = facts.eval_losses
    if len(evals) < 3:
        return ""
    best = min(evals)
    if evals[-1] > best * (1 + ROSE):
        return (f" The eval loss rose from its best {best:.4f} to {evals[-1]:.4f}: the adapter is overfitting; "
                "fewer epochs would do better.")
    return ""


def _margin(facts: RunFacts) -> str:
    if not facts.margins:
        return ""
    start, end = _ends(list(facts.margins))
    return f" Reward margin (chosen − rejected): {start:.3f} → {end:.3f}."


def judge(losses: list[float], facts: RunFacts) -> Verdict:
    """The verdict on one run's logged train losses (in step order)."""
    if not losses:
        return Verdict(False, "No training loss was logged, so Lorag cannot tell whether the adapter learned.")
    bad = next((i for i, loss in enumerate(losses) if not math.isfinite(loss)), None)
    if bad is not None:
        return Verdict(False, f"The loss became {losses[bad]} (log {bad + 1} of {len(losses)}): training diverged. "
                              f"Lower the learning rate ({facts.learning_rate:g}), or train in float32 / bf16 "
                              "instead of fp16; this adapter is not usable.")
    start, end = _ends(losses)
    change = (start - end) / start if start > 0 else 0.0
    curve = f"from {start:.4f} to {end:.4f} over {facts.steps} step(s)"
    if change >= FELL:
        note = (f" It is now {end:.4f}: the adapter may have memorised the rows; hold out a validation split to "
                "check." if end < MEMORISED else "")
        return Verdict(True, f"The loss fell {curve} ({change:.0%} lower).{note}{_overfit(facts)}{_margin(facts)}",
                       start, end)
    how = "rose" if change < -ROSE else "did not fall"
    causes = _causes(facts, start, change) or ["no obvious cause in the settings: check that the answers in the "
                                               "file are consistent, then try more epochs or a higher learning "
                                               "rate"]
    return Verdict(False, f"The loss {how} ({curve}), so the adapter has probably not learned much. Likely "
                          f"cause: {'; '.join(causes)}.{_margin(facts)}", start, end)
