"""Dataset formats people upload, detected per file and turned into one canonical `Example` per row.

Formats: OpenAI chat (`messages`), ShareGPT (`conversations`), both with role/content or from/value turns and the
role names other tools use; Alpaca (instruction/input/output), prompt/completion, plain text (`text`). Preference
rows (`chosen` / `rejected`) are recognised as such. Each converter raises `RowProblem` with a reason a person can act
on; the caller adds where the row is.
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
    `text` (loss on everything). kind "preference": the prompt `messages` and the `chosen` / `rejected` assistant
    messages, through the chat template; kind "preference_text": raw `prompt`, `chosen` and `rejected` strings.
    """

    kind: str
    line: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] | None = None
    text: str = ""
    prompt: str = ""
    completion: str = ""
    chosen: Any = None               # preference rows: the preferred answer (assistant messages, or text for kind
    rejected: Any = None             # "preference_text"), and the one to move away from; `messages` is the prompt
    row: int = 0                     # position in a JSON array (0: a JSON Lines file, where the line says it)
    mapping: list[str] = field(default_factory=list)   # how the turns were read: key style, renamed roles


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    description: str
    convert: Callable[[dict[str, Any], int], Example]


ROLES = {"system", "user", "assistant", "tool"}
# The role names other tools write, per canonical role (ShareGPT, LLaMA-Factory, Gemini, OpenAI's old function role).
ROLE_NAMES = {"user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant", "bot": "assistant",
              "model": "assistant", "system": "system", "tool": "tool", "function": "tool", "observation": "tool",
              "function_call": "tool_call"}
KEY_STYLES = (("role", "content"), ("from", "value"))


def place(line: int, row: int = 0) -> str:
    """Where a row is, for a person: 'line 7' (JSON Lines), 'row 3 (line 12)' or 'row 3' (a one-line JSON array)."""
    if row and line:
        return f"row {row} (line {line})"
    return f"row {row}" if row else f"line {line}"


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


def _speaker(turn: dict[str, Any], where: str) -> tuple[str, str, Any, str]:
    """(canonical role, the name the file used, the content, the key style) of one turn in either key style."""
    role_key, content_key = next(((r, c) for r, c in KEY_STYLES if r in turn), KEY_STYLES[0])
    if content_key not in turn and role_key == "from" and "content" in turn:
        content_key = "content"
    name = turn.get(role_key)
    role = ROLE_NAMES.get(name.strip().lower()) if isinstance(name, str) else None
    if role is None:
        raise RowProblem(f"{where} is from {name!r}; expected a role such as user / human, assistant / gpt, "
                         "system, or tool / observation")
    return role, name, turn.get(content_key), f"{role_key}/{content_key}"


def _message(turn: Any, where: str) -> tuple[dict[str, Any], str, str]:
    """One turn as a canonical message, with the role name and key style the file used."""
    if not isinstance(turn, dict):
        raise RowProblem(f"{where} is not an object")
    role, name, content, keys = _speaker(turn, where)
    if role == "tool_call":
        return _tool_call_turn(content, where), name, keys
    out: dict[str, Any] = {"role": role, "content": _text_of(content, where)}
    if role == "assistant" and turn.get("tool_calls"):
        if not isinstance(turn["tool_calls"], list):
            raise RowProblem(f"{where}: `tool_calls` must be a list")
        out["tool_calls"] = [_tool_call(c, where) for c in turn["tool_calls"]]
    elif role == "assistant" and isinstance(turn.get("function_call"), dict):
        out["tool_calls"] = [_tool_call(turn["function_call"], where)]
    if role == "tool" and turn.get("name"):
        out["name"] = str(turn["name"])
    return out, name, keys


def _tool_call_turn(value: Any, where: str) -> dict[str, Any]:
    """ShareGPT's function_call turn: its value is the call (or a list of calls) as JSON."""
    try:
        call = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        raise RowProblem(f"{where}: the function_call value is not valid JSON") from None
    calls = call if isinstance(call, list) else [call]
    return {"role": "assistant", "content": "", "tool_calls": [_tool_call(c, where) for c in calls]}


def chat_turns(raw: Any, field_name: str, label: str = "turn") -> tuple[list[dict[str, Any]], list[str]]:
    """A list of turns in either key style (role/content, from/value) as canonical messages, and how it was read:
    the key style and each role name that was renamed ('from/value', 'gpt → assistant')."""
    if not isinstance(raw, list):
        raise RowProblem(f"`{field_name}` must be a list")
    messages, mapping = [], []
    for i, turn in enumerate(raw, 1):
        message, name, keys = _message(turn, f"{label} {i}")
        messages.append(message)
        mapping.append(keys)
        if name != message["role"] and not (name == "function_call" and message.get("tool_calls")):
            mapping.append(f"{name} → {message['role']}")
        elif name == "function_call":
            mapping.append("function_call → assistant tool call")
    return messages, list(dict.fromkeys(mapping))


def chat_example(field_name: str) -> Callable[[dict[str, Any], int], Example]:
    """The converter for rows whose conversation is the list in `field_name` (messages, conversations)."""
    def convert(row: dict[str, Any], line: int) -> Example:
        messages, mapping = chat_turns(row.get(field_name), field_name)
        system = row.get("system")
        if isinstance(system, str) and system.strip() and not (messages and messages[0]["role"] == "system"):
            messages.insert(0, {"role": "system", "content": system})
        _check_chat(messages)
        return Example("chat", line, messages=messages, tools=_tools(row.get("tools")), mapping=mapping)

    return convert


def _alpaca_prompt(row: dict[str, Any]) -> list[dict[str, Any]]:
    """system, history pairs and instruction + input as the user turn (the answer is not included)."""
    for key in ("instruction", "input", "output", "system"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise RowProblem(f"`{key}` must be a string")
    prompt = "\n\n".join(part for part in (row.get("instruction") or "", row.get("input") or "") if part.strip())
    if not prompt.strip():
        raise RowProblem("`instruction` and `input` are both empty")
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
    return messages + [{"role": "user", "content": prompt}]


def alpaca_example(row: dict[str, Any], line: int) -> Example:
    messages = _alpaca_prompt(row)
    if not (row.get("output") or "").strip():
        raise RowProblem("`output` is empty")
    return Example("chat", line, messages=messages + [{"role": "assistant", "content": row["output"]}])


def prompt_completion_example(row: dict[str, Any], line: int) -> Example:
    prompt, completion = row.get("prompt"), row.get("completion")
    if isinstance(prompt, list) and isinstance(completion, list):  # trl's conversational prompt/completion
        messages, _ = chat_turns(prompt + completion, "messages", "message")
        _check_chat(messages)
        return Example("chat", line, messages=messages, tools=_tools(row.get("tools")))
    if not isinstance(prompt, str) or not isinstance(completion, str):
        raise RowProblem("`prompt` and `completion` must both be strings (or both lists of messages)")
    if not completion.strip():
        raise RowProblem("`completion` is empty")
    return Example("completion", line, prompt=prompt, completion=completion)


def _answer(raw: Any, part: str) -> tuple[list[dict[str, Any]], list[str]]:
    """A chosen / rejected answer (a string, one turn, or a list of turns) as assistant messages, and how it was
    read."""
    if isinstance(raw, str):
        raw = [{"role": "assistant", "content": raw}]
    elif isinstance(raw, dict):
        raw = [raw]
    messages, mapping = chat_turns(raw, part, f"{part} turn")
    if not messages or any(m["role"] != "assistant" for m in messages):
        raise RowProblem(f"`{part}` must be the assistant's answer")
    if not any(m["content"].strip() or m.get("tool_calls") for m in messages):
        raise RowProblem(f"`{part}` is empty")
    return messages, mapping


def _shared_prompt(chosen: list[dict[str, Any]], rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """trl's implicit prompt: both conversations start with the same turns, the answers follow."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    while n and chosen[n - 1]["role"] == "assistant":
        n -= 1
    return chosen[:n]


def _preference_prompt(row: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The prompt conversation of a chat preference row, in whichever form the file uses."""
    for field_name in ("conversations", "messages"):
        if field_name in row:
            return chat_turns(row[field_name], field_name)
    if isinstance(row.get("prompt"), list):
        return chat_turns(row["prompt"], "prompt", "prompt turn")
    if "instruction" in row:
        return _alpaca_prompt(row), []
    raise RowProblem("there is no prompt: give `prompt`, `conversations`, `messages` or `instruction`")


def preference_example(row: dict[str, Any], line: int) -> Example:
    """chosen / rejected rows: trl's plain, conversational and implicit-prompt forms, LLaMA-Factory's sharegpt and
    alpaca preference forms."""
    chosen, rejected, system = row.get("chosen"), row.get("rejected"), row.get("system")
    if isinstance(row.get("prompt"), str) and isinstance(chosen, str) and isinstance(rejected, str):
        if not chosen.strip() or not rejected.strip():
            raise RowProblem("`chosen` and `rejected` must both be non-empty")
        return Example("preference_text", line, prompt=row["prompt"], chosen=chosen, rejected=rejected)
    if "prompt" not in row and isinstance(chosen, list) and isinstance(rejected, list) and \
            not ({"conversations", "messages", "instruction"} & set(row)):
        full_chosen, mapping = chat_turns(chosen, "chosen", "chosen turn")
        full_rejected, _ = chat_turns(rejected, "rejected", "rejected turn")
        prompt = _shared_prompt(full_chosen, full_rejected)
        chosen, rejected = full_chosen[len(prompt):], full_rejected[len(prompt):]
    else:
        prompt, mapping = _preference_prompt(row)
    if isinstance(system, str) and system.strip() and not (prompt and prompt[0]["role"] == "system"):
        prompt.insert(0, {"role": "system", "content": system})
    if not prompt or prompt[-1]["role"] not in ("user", "tool"):
        raise RowProblem("the prompt must end with a user (or tool) turn that the answers reply to")
    (chosen, chosen_mapping), (rejected, rejected_mapping) = _answer(chosen, "chosen"), _answer(rejected, "rejected")
    mapping = list(dict.fromkeys(mapping + chosen_mapping + rejected_mapping))
    return Example("preference", line, messages=prompt, tools=_tools(row.get("tools")), mapping=mapping,
                   chosen=chosen, rejected=rejected)


def text_example(row: dict[str, Any], line: int) -> Example:
    text = row.get("text")
    if not isinstance(text, str):
        raise RowProblem("`text` must be a string")
    if not text.strip():
        raise RowProblem("`text` is empty")
    return Example("text", line, text=text)


FORMATS: dict[str, Format] = {f.key: f for f in (
    Format("openai", "OpenAI chat (messages)", "`messages` with system / user / assistant / tool turns (role/content "
           "or from/value keys); trained through the model's chat template", chat_example("messages")),
    Format("sharegpt", "ShareGPT (conversations)", "`conversations` with from/value or role/content turns (human, "
           "gpt, system, function_call, observation) and optional `tools`", chat_example("conversations")),
    Format("alpaca", "Alpaca (instruction / input / output)", "instruction + input become the user turn, output "
           "the assistant turn; optional system and history", alpaca_example),
    Format("prompt_completion", "Prompt / completion", "raw prompt text followed by the completion (no chat "
           "template); the loss is on the completion", prompt_completion_example),
    Format("text", "Plain text", "raw `text`, no chat template; every token is trained (continued pre-training)",
           text_example),
    Format("preference", "Preference (chosen / rejected)", "a prompt with a preferred and a rejected answer, for "
           "DPO / ORPO preference tuning: set the method to dpo or orpo", preference_example),
)}


def format_of_row(row: Any) -> str | None:
    """The format one row looks like, or None."""
    if not isinstance(row, dict):
        return None
    if "chosen" in row and "rejected" in row:
        return "preference"
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
