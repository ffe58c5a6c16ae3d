"""Rows -> token ids and a loss mask, through the base model's own chat template (the one chat uses).

The same function feeds the preview, the statistics and the worker, so what a person sees is what is trained.
Which tokens are trained ("assistant-only"):
- the template has `{% generation %}` markers: transformers' assistant mask (what trl uses);
- it has none (SmolLM2's ChatML, the real Qwen3 templates): the assistant turns are located in the rendered text,
  from the end of the assistant header (the generation prompt) to the end-of-turn token included, and every row
  is checked (an assistant reply or tool call the template does not show is a row error, never silently skipped).
trl would instead swap in its own training template (trl/chat_templates/*_training.jinja), which renders history
turns differently from what the model sees in chat, and refuses templates it does not know; we keep the model's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.errors import LoragError, Phrase
from engine.models.thinking import template_kwargs, template_text
from engine.training.formats import Example, RowProblem

THINK_BLOCK = re.compile(r"<think>\s*</think>\s*")
GENERATION_MARKER = re.compile(r"\{%-?\s*generation\s*-?%\}")
PROBE_USER, PROBE_REPLY = "Lorag probe question", "Lorag probe reply 7Q"


@dataclass
class TemplatePlan:
    """How assistant tokens are found for one tokenizer."""

    method: str                     # markers | located | none (no chat template)
    note: str                       # one sentence for the person (shown in the preview and recorded)
    headers: tuple[str, ...] = ()   # located: the assistant header variants, longest first
    end: str = ""                   # located: the end-of-turn text, trained with the reply


@dataclass
class Encoded:
    input_ids: list[int]
    mask: list[int]                 # 1 = trained
    rejected_ids: list[int] | None = None   # preference rows: prompt + rejected answer (input_ids: prompt + chosen)

    @property
    def prompt_length(self) -> int:
        """Preference rows: the shared prompt, before the first trained token."""
        return self.mask.index(1) if 1 in self.mask else len(self.mask)

    @property
    def trained(self) -> int:
        rejected = len(self.rejected_ids) - self.prompt_length if self.rejected_ids is not None else 0
        return sum(self.mask) + rejected


def chat_template_of(tokenizer: Any) -> str:
    return template_text(tokenizer)


def _render(tokenizer: Any, messages: list[dict[str, Any]], tools: Any = None, generation_prompt: bool = False) -> str:
    """The template's rendering with the switches chat uses by default (no earlier reasoning kept)."""
    return tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=generation_prompt,
                                         **template_kwargs(tokenizer))


def _special_strings(tokenizer: Any) -> list[str]:
    names = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for token in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).values():
        if getattr(token, "special", False):
            names.add(str(token))
    return [n for n in names if n]


def plan_for(tokenizer: Any) -> TemplatePlan:
    template = chat_template_of(tokenizer)
    if not template:
        return TemplatePlan("none", Phrase("This model has no chat template: only plain-text and prompt/completion "
                                           "files can be trained on it.", "error.training.plan_no_template"))
    if GENERATION_MARKER.search(template):
        return TemplatePlan("markers", Phrase("The model's chat template marks assistant turns ({% generation %}); "
                                              "those tokens are trained.", "error.training.plan_markers"))
    user = [{"role": "user", "content": PROBE_USER}]
    plain, prompted = _render(tokenizer, user), _render(tokenizer, user, generation_prompt=True)
    header = prompted[len(plain):] if prompted.startswith(plain) else ""
    full = _render(tokenizer, user + [{"role": "assistant", "content": PROBE_REPLY}])
    tail = full[full.find(PROBE_REPLY) + len(PROBE_REPLY):] if PROBE_REPLY in full else ""
    hits = [(tail.find(s), s) for s in _special_strings(tokenizer) if s in tail]
    end = min(hits)[1] if hits else ""
    if not header or not end:
        return TemplatePlan("none", Phrase("The model's chat template has no {% generation %} markers and Lorag "
                                           "cannot tell where its assistant turns start and end; untick 'train only "
                                           "on assistant turns' to train on whole conversations.",
                                           "error.training.plan_no_turns"))
    headers = header_variants(header, full)
    shown = header.replace("\n", "\\n")
    note = Phrase(f"The model's chat template has no {{% generation %}} markers, so Lorag marks each assistant turn "
                  f"itself: from after '{shown}' up to and including '{end}'. Check the marked tokens in the preview.",
                  "error.training.plan_located", {"shown": shown, "end": end})
    return TemplatePlan("located", note, headers, end)


def header_variants(header: str, probe: str) -> tuple[str, ...]:
    """The ways the template opens an assistant turn, longest first. Qwen3 writes an empty <think></think> block in
    the generation prompt when thinking is off; Qwen3.5 / 3.6 / 3.8 open "<think>\n" in it when thinking is on,
    show earlier turns bare and the last one with its (possibly empty) reasoning block, as the probe shows."""
    variants = {header, THINK_BLOCK.sub("", header)}
    opened = header.rstrip().endswith("<think>")
    if opened:
        bare = header[:header.rstrip().rfind("<think>")]
        variants.add(bare)
        start, reply = probe.rfind(bare, 0, probe.find(PROBE_REPLY)), probe.find(PROBE_REPLY)
        if 0 <= start < reply:
            variants.add(probe[start:reply])  # the header with the empty reasoning block the template writes
    return tuple(sorted(variants, key=len, reverse=True))


def _core(content: str) -> str:
    """The part of a reply a template always shows (templates strip it and may drop a <think> block)."""
    return content.split("</think>")[-1].strip()


def assistant_spans(text: str, messages: list[dict[str, Any]], plan: TemplatePlan) -> list[tuple[int, int]]:
    """Character spans [start, end) of each assistant reply (end-of-turn included) in the rendered `text`."""
    spans, cursor = [], 0
    for number, msg in enumerate(messages, 1):
        if msg["role"] != "assistant":
            content = msg["content"].strip()
            found = text.find(content, cursor) if content else -1
            cursor = found + len(content) if found >= 0 else cursor
            continue
        hits = [(text.find(h, cursor), -len(h), h) for h in plan.headers]
        hits = [hit for hit in hits if hit[0] >= 0]
        if not hits:
            raise RowProblem(f"the chat template does not show the assistant turn (message {number})")
        position, _, header = min(hits)
        start = after = position + len(header)
        core = _core(msg["content"])
        if core:
            found = text.find(core, start)
            if found < 0:
                raise RowProblem(f"the chat template changes the assistant reply of message {number}")
            after = found + len(core)
        end = text.find(plan.end, after)
        if end < 0:
            raise RowProblem(f"the assistant reply of message {number} has no end-of-turn {plan.end!r}")
        end += len(plan.end)
        for call in msg.get("tool_calls") or []:
            if call["function"]["name"] not in text[start:end]:
                raise RowProblem(f"this model's chat template drops the tool call of message {number}")
        spans.append((start, end))
        cursor = end
    return spans


def _check_tool_calls(text: str, messages: list[dict[str, Any]]) -> None:
    """A template without tool support renders a tool call as an empty reply: never train on that silently."""
    for number, msg in enumerate(messages, 1):
        for call in msg.get("tool_calls") or []:
            if call["function"]["name"] not in text:
                raise RowProblem(f"this model's chat template drops the tool call of message {number}")


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _mask_from_spans(offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[int]:
    return [1 if e > s and any(a <= s < b for a, b in spans) else 0 for s, e in offsets]


class Encoder:
    """Turns canonical rows into ids + loss mask for one tokenizer; `assistant_only` picks the trained part."""

    def __init__(self, tokenizer: Any, assistant_only: bool = True) -> None:
        self.tokenizer = tokenizer
        self.assistant_only = assistant_only
        self.plan = plan_for(tokenizer)
        self.eos = tokenizer.eos_token or ""

    def check_format(self, kind: str) -> None:
        """Refuse up front what cannot work for a whole file."""
        if kind in ("chat", "preference") and not chat_template_of(self.tokenizer):
            raise LoragError("This model has no chat template, so chat-style rows cannot be rendered for it.",
                             hint="Pick an instruct model, or use a plain-text / prompt-completion file.",
                             key="training.no_chat_template", hint_key="training.no_chat_template_hint")
        if kind == "chat" and self.assistant_only and self.plan.method == "none":
            raise LoragError(self.plan.note, key="training.template_plan", params={"note": self.plan.note})

    def encode(self, example: Example) -> Encoded:
        if example.kind in ("preference", "preference_text"):
            encoded = self._preference(example)
        elif example.kind == "chat":
            encoded = self._chat(example)
        elif example.kind == "completion":
            encoded = self._raw(example.prompt, example.completion)
        else:
            encoded = self._raw("", example.text)
        if not encoded.trained:
            raise RowProblem("no token of this row would be trained")
        return encoded

    def _chat(self, example: Example) -> Encoded:
        try:
            text = _render(self.tokenizer, example.messages, example.tools)
            _check_tool_calls(text, example.messages)
            if self.assistant_only and self.plan.method == "markers":
                out = self.tokenizer.apply_chat_template(example.messages, tools=example.tools, tokenize=True,
                                                         return_dict=True, return_assistant_tokens_mask=True,
                                                         **template_kwargs(self.tokenizer))
                return Encoded(list(out["input_ids"]), list(out["assistant_masks"]))
        except RowProblem:
            raise
        except Exception as exc:  # jinja raises for conversations a template refuses (role order, tools...)
            raise RowProblem(f"the model's chat template refuses this conversation: {exc}") from None
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        if not self.assistant_only:
            return Encoded(list(enc["input_ids"]), [1] * len(enc["input_ids"]))
        spans = assistant_spans(text, example.messages, self.plan)
        return Encoded(list(enc["input_ids"]), _mask_from_spans(enc["offset_mapping"], spans))

    def _preference(self, example: Example) -> Encoded:
        """prompt + chosen and prompt + rejected, split where their tokens part (as trl's DPO trainer does): the
        answers are rendered through the chat template as the next assistant turn, or as raw text + end of text."""
        if example.kind == "preference_text":
            prompt = self.tokenizer(example.prompt, add_special_tokens=True)["input_ids"]
            chosen, rejected = (self.tokenizer(example.prompt + self._with_eos(a), add_special_tokens=True)["input_ids"]
                                for a in (example.chosen, example.rejected))
        else:
            try:
                prompt = self._render_ids(example.messages, example.tools, generation_prompt=True)
                chosen, rejected = (self._render_ids(example.messages + a, example.tools)
                                    for a in (example.chosen, example.rejected))
            except Exception as exc:  # jinja raises for conversations a template refuses
                raise RowProblem(f"the model's chat template refuses this conversation: {exc}") from None
        shared = min(_common_prefix(prompt, chosen), _common_prefix(prompt, rejected))
        if shared == len(chosen) or shared == len(rejected):
            raise RowProblem("the chosen or the rejected answer adds no token to the prompt")
        return Encoded(chosen, [0] * shared + [1] * (len(chosen) - shared), rejected)

    def _render_ids(self, messages: list[dict[str, Any]], tools: Any, generation_prompt: bool = False) -> list[int]:
        text = _render(self.tokenizer, messages, tools, generation_prompt)
        _check_tool_calls(text, messages)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _with_eos(self, answer: str) -> str:
        return answer if answer.endswith(self.eos) else answer + self.eos

    def _raw(self, prompt: str, answer: str) -> Encoded:
        """Raw text (no template) + end of sequence, as trl does for non-chat data."""
        text = prompt + answer + (self.eos if not answer.endswith(self.eos) else "")
        enc = self.tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
        if self.assistant_only and prompt:
            mask = _mask_from_spans(enc["offset_mapping"], [(len(prompt), len(text))])
        else:
            mask = [1] * len(enc["input_ids"])
        return Encoded(list(enc["input_ids"]), mask)
