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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"

NONE, SWITCHABLE, ALWAYS = "none", "switchable", "always"


def thinking_mode(tokenizer: Any) -> str:
    """How the tokenizer's chat template treats reasoning (see the module docstring)."""
    template = getattr(tokenizer, "chat_template", None) or ""
    if not isinstance(template, str) or OPEN_TAG not in template:
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


def history_for_template(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as the template expects them: role + content; reasoning is kept out of earlier turns
    (Qwen: "the historical model output should only include the final output part"). Only an assistant
    message after the last user message (a reply being continued) carries its `reasoning_content`."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    out = []
    for i, message in enumerate(messages):
        item = {"role": message["role"], "content": message.get("content") or ""}
        if message["role"] == "assistant" and i > last_user and message.get("reasoning"):
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
