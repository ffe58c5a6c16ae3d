"""Generation settings, their YAML presets, and what a streamed generation yields.

`GenerationParams` is the one set of sampling settings the Chat tab, the Notebook and the API share.
Presets live in presets/generation/*.yaml (Qwen's own recommended settings among them); a preset file
holds any subset of the fields below plus a `label` and a `description`.

A stream (ModelService.stream_chat / stream_completion) yields `StreamEvent`s: any number of
"reasoning" and "answer" events carrying a text delta, then exactly one "done" event with the
`GenerationStats` (token counts, tokens/s, time to first token, why it stopped).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from engine.errors import LoragError, Phrase
from engine.fields import option
from engine.presets import load_preset, load_presets

PRESET_KIND = "generation"
DEFAULT_PRESET = "default"


@dataclass
class GenerationParams:
    """Sampling settings for one reply. temperature 0 means greedy decoding (deterministic)."""

    temperature: float = option(0.7, "Randomness of sampling; 0 picks the most likely token every time (greedy).")
    top_p: float = option(0.8, "Nucleus sampling: keep the smallest set of tokens whose probabilities sum to this.")
    top_k: int = option(20, "Keep only the k most likely tokens (0: no limit).")
    min_p: float = option(0.0, "Drop tokens less likely than this fraction of the most likely one (0: off).")
    repetition_penalty: float = option(1.0, "Above 1 discourages repeating tokens already in the text (1: off).")
    max_new_tokens: int = option(512, "Most tokens to generate for one reply.")
    seed: int = option(-1, "Random seed for sampling; -1 picks a new one each time.")
    stop: list[str] = option([], "Extra strings that end the reply (the model's own end token always does).")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "GenerationParams":
        checks = [
            (self.temperature >= 0, Phrase("temperature must be 0 or more", "error.generation.temperature")),
            (0 < self.top_p <= 1, Phrase("top_p must be in (0, 1]", "error.generation.top_p")),
            (self.top_k >= 0, Phrase("top_k must be 0 or more", "error.generation.top_k")),
            (0 <= self.min_p < 1, Phrase("min_p must be in [0, 1)", "error.generation.min_p")),
            (self.repetition_penalty > 0,
             Phrase("repetition_penalty must be above 0", "error.generation.repetition_penalty")),
            (1 <= self.max_new_tokens <= 131072,
             Phrase("max_new_tokens must be between 1 and 131072", "error.generation.max_new_tokens")),
        ]
        for ok, message in checks:
            if not ok:
                raise LoragError(f"Generation setting: {message}.", key="generation.bad_setting",
                                 params={"problem": message})
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        self.stop = [s for s in self.stop if s]
        return self

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def generate_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for transformers' `generate` (the stop strings go in separately)."""
        kwargs: dict[str, Any] = {"max_new_tokens": int(self.max_new_tokens),
                                  "repetition_penalty": float(self.repetition_penalty)}
        if self.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            return kwargs
        kwargs.update(do_sample=True, temperature=float(self.temperature), top_p=float(self.top_p),
                      top_k=int(self.top_k) if self.top_k else None)
        if self.min_p:
            kwargs["min_p"] = float(self.min_p)
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "GenerationParams":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> "GenerationParams":
        return cls.from_dict({**load_preset(PRESET_KIND, name), **overrides})


def generation_presets() -> dict[str, dict[str, Any]]:
    """name -> the preset's YAML (label, description and the fields it sets)."""
    return load_presets(PRESET_KIND)


@dataclass
class GenerationStats:
    """What is shown under a reply and stored in the message's meta."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    time_to_first_token: float = 0.0
    tokens_per_second: float = 0.0
    finish_reason: str = ""       # eos | length | stop_string | stopped | cut (the engine stopped answering)
    adapter: str = ""             # "" for the base model
    model: str = ""
    seed: int = -1

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = [f"{self.completion_tokens} tokens", f"{self.tokens_per_second:.1f} tok/s",
                 f"prompt {self.prompt_tokens}", f"first token {self.time_to_first_token * 1000:.0f} ms"]
        if self.adapter:
            parts.append(f"adapter {self.adapter}")
        if self.finish_reason in {"length", "stopped"}:
            parts.append("cut at max tokens" if self.finish_reason == "length" else "stopped")
        if self.finish_reason == "cut":
            parts.append("cut off: the engine stopped answering")
        return " · ".join(parts)


@dataclass
class QueuePlace:
    """Where a waiting request stands: `ahead` others hold or wait before it, of `length` in the line, and the
    seconds the holds so far suggest it will wait."""

    ahead: int
    length: int
    expected_wait_s: float


@dataclass
class StreamEvent:
    """One step of a streamed generation.

    kind: "reasoning" (a piece of Qwen3's thinking), "answer" (a piece of the reply), "done" (last), or "queued"
    (only when asked for: the request waits for the model, `queue` says where it stands; sent when it changes).
    delta: the new text of this event; answer / reasoning: the whole text so far (answer never holds reasoning).
    stats and prompt (the exact text the model received): only on "done".
    """

    kind: str
    delta: str = ""
    answer: str = ""
    reasoning: str = ""
    stats: GenerationStats | None = None
    prompt: str = ""
    queue: QueuePlace | None = None
