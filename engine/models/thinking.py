"""Qwen3 thinking: what a chat template does with <think>, splitting reasoning from the answer, and the
history sent back to the model.

Three kinds of templates are met in the wild:
- "switchable" (Qwen3 hybrid): the template reads `enable_thinking`; off writes an empty <think></think> block
  into the prompt, on leaves the model to open <think> itself.
- "always" (Qwen3-*-Thinking-2507): the generation prompt itself opens "<think>\n", so the generated text has
  no opening tag, only the closing one.
- "none": no reasoning block is ever generated (Qwen2.5, Qwen3-*-Instruct-2507 which writes an empty block,
  SmolLM2...).
The splitter therefore starts inside the reasoning exactly when the rendered prompt ends with an open <think>.

Qwen3.5 / 3.6 / 3.8 templates are switchable too (thinking on by default from 4B up: their generation prompt opens
"<think>\n"), and may read two more switches: `preserve_thinking` (3.6, 3.8: earlier turns keep their reasoning;
on by default in 3.8's template) and `reasoning_effort` (3.8: xhigh, medium or low). Lorag's history leaves the
reasoning of earlier turns out unless preserve_thinking is asked for, the same for chat and training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import LoragError

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

NONE, SWITCHABLE, ALWAYS = "none", "switchable", "always"
SWITCHES = ("enable_thinking", "preserve_thinking", "reasoning_effort")
REASONING_EFFORTS = ("xhigh", "medium", "low")  # what Qwen3.8's template accepts


def template_text(tokenizer: Any) -> str:
    template = getattr(tokenizer, "chat_template", None) or ""
    return template.get("default", "") if isinstance(template, dict) else template


def template_switches(tokenizer: Any) -> list[str]:
    """Which of enable_thinking / preserve_thinking / reasoning_effort the tokenizer's chat template reads."""
    template = template_text(tokenizer)
    return [name for name in SWITCHES if name in template]


def template_kwargs(tokenizer: Any, thinking: bool | None = None, preserve_thinking: bool = False,
                    reasoning_effort: str = "") -> dict[str, Any]:
    """The switches to pass to apply_chat_template: only those the template reads. preserve_thinking is always
    passed where the template reads it, so a template that defaults it on (Qwen3.8) still gets Lorag's history."""
    switches = template_switches(tokenizer)
    kwargs: dict[str, Any] = {}
    if thinking is not None and "enable_thinking" in switches:
        kwargs["enable_thinking"] = bool(thinking)
    if "preserve_thinking" in switches:
        kwargs["preserve_thinking"] = bool(preserve_thinking)
    if reasoning_effort:
        _check_effort(reasoning_effort)
        if "reasoning_effort" not in switches:
            raise LoragError("This model's chat template has no reasoning effort switch (Qwen3.8 has one).",
                             key="chat.no_reasoning_effort")
        kwargs["reasoning_effort"] = reasoning_effort
    return kwargs


def requested_switches(thinking: bool | None = None, preserve_thinking: bool | None = None,
                       reasoning_effort: str = "") -> dict[str, Any]:
    """The switches the caller set, as chat_template_kwargs for an engine (--engine-url): its template is not
    known here, so nothing is filled in; the engine's template reads what it knows (vLLM, SGLang, Lorag)."""
    kwargs: dict[str, Any] = {}
    if thinking is not None:
        kwargs["enable_thinking"] = bool(thinking)
    if preserve_thinking is not None:
        kwargs["preserve_thinking"] = bool(preserve_thinking)
    if reasoning_effort:
        _check_effort(reasoning_effort)
        kwargs["reasoning_effort"] = reasoning_effort
    return kwargs


def _check_effort(reasoning_effort: str) -> None:
    if reasoning_effort not in REASONING_EFFORTS:
        raise LoragError(f"Unknown reasoning effort {reasoning_effort!r}: choose one of "
                         f"{', '.join(REASONING_EFFORTS)}.",
                         key="chat.unknown_reasoning_effort",
                         params={"effort": reasoning_effort, "efforts": ', '.join(REASONING_EFFORTS)})


def thinking_mode(tokenizer: Any) -> str:
    """How the tokenizer's chat template treats reasoning (see the module docstring)."""
    template = template_text(tokenizer)
    if OPEN_TAG not in template:
        return NONE
    if "enable_thinking" in template:
        return SWITCHABLE
    probe = [{"role": "user", "content": "hi"}]
    try:
        prompt = tokenizer.apply_chat_template(probe, add_generation_prompt=True, tokenize=False)
    except Exception:  # noqa: BLE001 - a broken template is reported when the person chats
        return NONE
    return ALWAYS if prompt_opens_reasoning(prompt) else NONE


def prompt_opens_reasoning(prompt: str) -> bool:
    """True when the prompt ends inside an open <think> block (the model continues the reasoning)."""
    tail = prompt.rstrip()
    return tail.endswith(OPEN_TAG)


def history_for_template(messages: list[dict[str, Any]], preserve_thinking: bool = False) -> list[dict[str, Any]]:
    """Messages as the template expects them: role + content; reasoning is kept out of earlier turns
    (Qwen: "the historical model output should only include the final output part"). Only an assistant
    message after the last user message (a reply being continued) carries its `reasoning_content`, or every
    assistant message with `preserve_thinking` (Qwen3.6 / 3.8 then show it)."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    out = []
    for i, message in enumerate(messages):
        item = {"role": message["role"], "content": message.get("content") or ""}
        kept = preserve_thinking or i > last_user
        if message["role"] == "assistant" and kept and message.get("reasoning"):
            item["reasoning_content"] = message["reasoning"]
        out.append(item)
    return out


@dataclass
class Piece:
    kind: str   # "reasoning" | "answer"
    text: str


class ReasoningSplitter:
    """Splits streamed text into reasoning and answer pieces, tags never included.

    Tags may arrive split over several deltas (models where they are not single tokens): a tail that could be
    the start of a tag is held back until the next delta decides. Whitespace around the reasoning and at the
    start of the answer is dropped, as Qwen's own parsers do.
    """

    def __init__(self, starts_in_reasoning: bool = False, continuing: bool = False) -> None:
        self.state = "reasoning" if starts_in_reasoning else "start"
        self._pending = ""
        self._reasoning_started = False
        self._answer_started = False
        if continuing and not starts_in_reasoning:  # extending an answer: its text goes on as it comes
            self.state, self._answer_started = "answer", True

    def feed(self, delta: str) -> list[Piece]:
        self._pending += delta
        out: list[Piece] = []
        while self._pending:
            before = (self.state, self._pending)
            out.extend(self._step())
            if (self.state, self._pending) == before:
                break
        return [p for p in out if p.text]

    def finish(self) -> list[Piece]:
        """Flush what was held back (the stream ended)."""
        text, self._pending = self._pending, ""
        if self.state == "reasoning":
            return [p for p in [self._reasoning(text.rstrip())] if p.text]
        if self.state == "start" and text.strip() == OPEN_TAG:
            return []
        return [p for p in [self._answer(text)] if p.text]

    # --- states ---------------------------------------------------------------------------------------
    def _step(self) -> list[Piece]:
        if self.state == "start":
            return self._step_start()
        if self.state == "reasoning":
            return self._step_reasoning()
        text, self._pending = self._pending, ""
        return [self._answer(text)]

    def _step_start(self) -> list[Piece]:
        head = self._pending.lstrip()
        if head.startswith(OPEN_TAG):
            self.state, self._pending = "reasoning", head[len(OPEN_TAG):]
            return []
        if not head or OPEN_TAG.startswith(head):
            return []  # could still become <think>: wait for more
        self.state = "answer"
        return []

    def _step_reasoning(self) -> list[Piece]:
        text = self._pending
        end = text.find(CLOSE_TAG)
        if end >= 0:
            self.state, self._pending = "answer", text[end + len(CLOSE_TAG):]
            return [self._reasoning(text[:end].rstrip())]
        keep = _held_back(text, CLOSE_TAG)
        emit, self._pending = text[:len(text) - keep], text[len(text) - keep:]
        stripped = emit.rstrip()  # trailing whitespace waits: it may be the "\n" before </think>
        self._pending = emit[len(stripped):] + self._pending
        return [self._reasoning(stripped)]

    def _reasoning(self, text: str) -> Piece:
        if not self._reasoning_started:
            text = text.lstrip()
            self._reasoning_started = bool(text)
        return Piece("reasoning", text)

    def _answer(self, text: str) -> Piece:
        if not self._answer_started:
            text = text.lstrip()
            self._answer_started = bool(text)
        return Piece("answer", text)


def _held_back(text: str, tag: str) -> int:
    """Length of the longest tail of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def split_reasoning(text: str, starts_in_reasoning: bool = False) -> tuple[str, str]:
    """(reasoning, answer) of a finished text: the streaming splitter run in one go."""
    splitter = ReasoningSplitter(starts_in_reasoning)
    pieces = splitter.feed(text) + splitter.finish()
    reasoning = "".join(p.text for p in pieces if p.kind == "reasoning")
    answer = "".join(p.text for p in pieces if p.kind == "answer")
    return reasoning, answer.rstrip()
