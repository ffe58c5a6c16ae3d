"""Dataset formats people upload, detected per file and turned into one canonical `Example` per row.

Formats: OpenAI chat (`messages`), ShareGPT (`conversations` with from/value), Alpaca (instruction/input/output),
prompt/completion, plain text (`text`). Each converter raises `RowProblem` with a reason a person can act on;
the caller adds the line number.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable


class RowProblem(ValueError):
    """One row cannot be used; the message says why (the caller adds the line)."""


@dataclass
class Example:
    """One training row in canonical form.

    kind "chat": `messages` (role/content, assistant `tool_calls`) and optional `tools`, rendered through the base
    model's chat template. kind "completion": raw `prompt` + `completion` (loss on the completion). kind "text": raw
    `text` (loss on everything).
    """

    kind: str
    line: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] | None = None
    text: str = ""
    prompt: str = ""
    completion: str = ""


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    description: str
    convert: Callable[[dict[str, Any], int], Example]


ROLES = {"system", "user", "assistant", "tool"}
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
                  "observation": "tool", "tool": "tool", "function_call": "tool_call"}


def _text_of(content: Any, where: str) -> str:
    """Content as a string: a string, None, or a list of text parts (OpenAI's content-as-parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"):
                texts.append(str(part.get("text", "")))
            elif isinstance(part, dict):
                raise RowProblem(f"{where} has a {part.get('type', 'untyped')!r} part; only text parts can be trained")
            else:
                raise RowProblem(f"{where} has a content part that is not an object")
        return "".join(texts)
    raise RowProblem(f"{where} content must be a string or a list of text parts, not {type(content).__name__}")


def _arguments(raw: Any, where: str) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            raise RowProblem(f"{where}: the tool call arguments are not valid JSON") from None
    if isinstance(raw, dict) or raw is None:
        return raw or {}
    raise RowProblem(f"{where}: the tool call arguments must be an object or a JSON string")


def _tool_call(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise RowProblem(f"{where}: a tool call must be an object")
    fn = raw.get("function", raw)
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise RowProblem(f"{where}: a tool call needs a function name")
    return {"type": "function", "function": {"name": fn["name"], "arguments": _arguments(fn.get("arguments"), where)}}


def _tools(raw: Any) -> list[dict[str, Any]] | None:
    if raw in (None, "", []):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise RowProblem("`tools` is not valid JSON") from None
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise RowProblem("`tools` must be a list of function descriptions")
    return raw


def _check_chat(messages: list[dict[str, Any]]) -> None:
    if not messages:
        raise RowProblem("the conversation is empty")
    if not any(m["role"] == "assistant" and (m["content"].strip() or m.get("tool_calls")) for m in messages):
        raise RowProblem("there is no assistant reply to learn from")


def openai_example(row: dict[str, Any], line: int) -> Example:
    raw = row.get("messages")
    if not isinstance(raw, list):
        raise RowProblem("`messages` must be a list")
    messages = []
    for i, msg in enumerate(raw, 1):
        where = f"message {i}"
        if not isinstance(msg, dict):
            raise RowProblem(f"{where} is not an object")
        role = msg.get("role")
        if role == "function":
            role = "tool"
        if role not in ROLES:
            raise RowProblem(f"{where} has role {role!r}; expected system, user, assistant or tool")
        out: dict[str, Any] = {"role": role, "content": _text_of(msg.get("content"), where)}
        if role == "assistant" and msg.get("tool_calls"):
            if not isinstance(msg["tool_calls"], list):
                raise RowProblem(f"{where}: `tool_calls` must be a list")
            out["tool_calls"] = [_tool_call(c, where) for c in msg["tool_calls"]]
        elif role == "assistant" and isinstance(msg.get("function_call"), dict):
            out["tool_calls"] = [_tool_call(msg["function_call"], where)]
        if role == "tool" and msg.get("name"):
            out["name"] = str(msg["name"])
        messages.append(out)
    _check_chat(messages)
    return Example("chat", line, messages=messages, tools=_tools(row.get("tools")))


def sharegpt_example(row: dict[str, Any], line: int) -> Example:
    raw = row.get("conversations")
    if not isinstance(raw, list):
        raise RowProblem("`conversations` must be a list")
    messages: list[dict[str, Any]] = []
    if isinstance(row.get("system"), str) and row["system"].strip():
        messages.append({"role": "system", "content": row["system"]})
    for i, turn in enumerate(raw, 1):
        where = f"turn {i}"
        if not isinstance(turn, dict):
            raise RowProblem(f"{where} is not an object")
        speaker = turn.get("from")
        role = SHAREGPT_ROLES.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise RowProblem(f"{where} is from {speaker!r}; expected human, gpt, system, function_call or "
                             "observation")
        value = turn.get("value")
        if not isinstance(value, str):
            raise RowProblem(f"{where}: `value` must be a string")
        if role == "tool_call":
            try:
                call = json.loads(value)
            except json.JSONDecodeError:
                raise RowProblem(f"{where}: the function_call value is not valid JSON") from None
            calls = call if isinstance(call, list) else [call]
            messages.append({"role": "assistant", "content": "", "tool_calls": [_tool_call(c, where) for c in calls]})
        else:
            messages.append({"role": role, "content": value})
    _check_chat(messages)
    return Example("chat", line, messages=messages, tools=_tools(row.get("tools")))


def alpaca_example(row: dict[str, Any], line: int) -> Example:
    for key in ("instruction", "input", "output", "system"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise RowProblem(f"`{key}` must be a string")
    prompt = "\n\n".join(part for part in (row.get("instruction") or "", row.get("input") or "") if part.strip())
    if not prompt.strip():
        raise RowProblem("`instruction` and `input` are both empty")
    if not (row.get("output") or "").strip():
        raise RowProblem("`output` is empty")
    messages: list[dict[str, Any]] = []
    if (row.get("system") or "").strip():
        messages.append({"role": "system", "content": row["system"]})
    history = row.get("history") or []
    if not isinstance(history, list):
        raise RowProblem("`history` must be a list of [question, answer] pairs")
    for i, pair in enumerate(history, 1):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
            raise RowProblem(f"history item {i} must be a [question, answer] pair of strings")
        messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": row["output"]}]
    return Example("chat", line, messages=messages)


def prompt_completion_example(row: dict[str, Any], line: int) -> Example:
    prompt, completion = row.get("prompt"), row.get("completion")
    if isinstance(prompt, list) and isinstance(completion, list):  # trl's conversational prompt/completion
        messages = openai_example({"messages": prompt + completion}, line).messages
        return Example("chat", line, messages=messages, tools=_tools(row.get("tools")))
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise RowProblem("`prompt` and `completion` must both be strings (or both lists of messages)")
    if not completion.strip():
        raise RowProblem("`completion` is empty")
    return Example("completion", line, prompt=prompt, completion=completion)


def text_example(row: dict[str, Any], line: int) -> Example:
    text = row.get("text")
    if not isinstance(text, str):
        raise RowProblem("`text` must be a string")
    if not text.strip():
        raise RowProblem("`text` is empty")
    return Example("text", line, text=text)


FORMATS: dict[str, Format] = {f.key: f for f in (
    Format("openai", "OpenAI chat (messages)", "`messages` with system / user / assistant / tool roles; trained "
           "through the model's chat template", openai_example),
    Format("sharegpt", "ShareGPT (conversations)", "`conversations` with from/value turns (human, gpt, system, "
           "function_call, observation) and optional `tools`", sharegpt_example),
    Format("alpaca", "Alpaca (instruction / input / output)", "instruction + input become the user turn, output "
           "the assistant turn; optional system and history", alpaca_example),
    Format("prompt_completion", "Prompt / completion", "raw prompt text followed by the completion (no chat "
           "template); the loss is on the completion", prompt_completion_example),
    Format("text", "Plain text", "raw `text`, no chat template; every token is trained (continued pre-training)",
           text_example),
)}


def format_of_row(row: Any) -> str | None:
    """The format one row looks like, or None."""
    if not isinstance(row, dict):
        return None
    if "messages" in row:
        return "openai"
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row and "output" in row:
        return "alpaca"
    if "prompt" in row and "completion" in row:
        return "prompt_completion"
    if "text" in row:
        return "text"
    return None


def detect_format(rows: list[Any], sample: int = 200) -> str | None:
    """The format most of the first `sample` rows look like (None when none does)."""
    votes = Counter(f for f in (format_of_row(r) for r in rows[:sample]) if f)
    return votes.most_common(1)[0][0] if votes else None


PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def fill_placeholders(value: Any, values: dict[str, str]) -> Any:
    """Replace {{name}}-style placeholders (LLaMA-Factory's identity set) in every string of a row."""
    if not values:
        return value
    if isinstance(value, str):
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [fill_placeholders(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill_placeholders(v, values) for k, v in value.items()}
    return value


def placeholders_in(rows: list[Any], sample: int = 2000) -> list[str]:
    found: set[str] = set()
    for row in rows[:sample]:
        found.update(PLACEHOLDER_RE.findall(json.dumps(row, ensure_ascii=False)))
    return sorted(found)
