"""Dataclass fields that carry their own facts (trl's SFTConfig style): help text, and for settings a person types,
a label, the allowed choices and bounds.

`option(default, help, label=..., choices=..., low=..., high=..., above=..., below=...)` declares a field;
flags, forms, validation and docs read these facts back (`problems`, `label_of`, `kind_of`), so a new setting is
one line. `known_fields` / `unknown_fields` read dicts from files written by older or newer versions.
Mutable defaults (lists, dicts) get a fresh copy per instance.
"""

from __future__ import annotations

from dataclasses import Field, field, fields
from typing import Any, Iterable, Mapping, Sequence

from engine.errors import Phrase

BOUNDS = ("low", "high", "above", "below")   # >= low, <= high, > above, < below


def option(default: Any, help: str, *, label: str = "", choices: Sequence[Any] | None = None,
           low: float | None = None, high: float | None = None, above: float | None = None,
           below: float | None = None, **metadata: Any) -> Any:
    meta = {"help": help, **metadata}
    if label:
        meta["label"] = label
    if choices is not None:
        meta["choices"] = tuple(choices)
    for name, bound in zip(BOUNDS, (low, high, above, below), strict=True):
        if bound is not None:
            meta[name] = bound
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def kind_of(f: Field) -> str:
    """'int', 'float', 'bool', 'str', 'dict'... (annotations are strings under `from __future__ import annotations`)."""
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def label_of(f: Field) -> str:
    return f.metadata.get("label") or f.name.replace("_", " ")


def known_fields(cls: type, data: Mapping[str, Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    """The items of `data` that name fields of the dataclass `cls` (keys of older or newer files are left out)."""
    names = {f.name for f in fields(cls)} - set(skip)
    return {key: value for key, value in data.items() if key in names}


def unknown_fields(cls: type, data: Iterable[str]) -> list[str]:
    """The keys that name no field of the dataclass `cls`, sorted."""
    names = {f.name for f in fields(cls)}
    return sorted(set(data) - names)


def problems(instance: Any, labels: str = "") -> list[Phrase]:
    """One sentence per field whose value is not among its choices or outside its bounds. With `labels` (the
    catalogue's prefix of the fields' labels, "field.training") the page says the field's label in its language."""
    out = []
    for f in fields(instance):
        value, meta = getattr(instance, f.name), f.metadata
        choices = meta.get("choices")
        subject = _subject(f, labels)
        if choices is not None and value not in choices:
            shown = ", ".join(map(str, choices))
            out.append(Phrase(f"{subject} must be one of {shown}", "error.fields.one_of",
                              {"field": subject, "choices": shown}))
        elif any(name in meta for name in BOUNDS) and not _within(value, meta):
            out.append(_out_of_bounds(subject, meta))
    return out


def _within(value: Any, meta: Mapping[str, Any]) -> bool:
    return (("low" not in meta or value >= meta["low"]) and ("high" not in meta or value <= meta["high"])
            and ("above" not in meta or value > meta["above"]) and ("below" not in meta or value < meta["below"]))


def _out_of_bounds(subject: str, meta: Mapping[str, Any]) -> Phrase:
    lower = meta.get("low", meta.get("above"))
    upper = meta.get("high", meta.get("below"))
    facts = {"field": subject, "lower": lower, "upper": upper}
    if lower is not None and upper is not None:
        return Phrase(f"{subject} must be between {lower} and {upper}", "error.fields.between", facts)
    if "low" in meta:
        if meta["low"] == 0:
            return Phrase(f"{subject} cannot be negative", "error.fields.not_negative", facts)
        return Phrase(f"{subject} must be at least {lower}", "error.fields.at_least", facts)
    if "above" in meta:
        if meta["above"] == 0:
            return Phrase(f"{subject} must be positive", "error.fields.positive", facts)
        return Phrase(f"{subject} must be above {lower}", "error.fields.above", facts)
    if "high" in meta:
        return Phrase(f"{subject} must be at most {upper}", "error.fields.at_most", facts)
    return Phrase(f"{subject} must be below {upper}", "error.fields.below", facts)


def _subject(f: Field, labels: str) -> str:
    """The label inside a sentence: 'Learning rate' -> 'learning rate', 'LoRA rank' stays."""
    text = label_of(f)
    first = text.split(" ", 1)[0]
    text = text[0].lower() + text[1:] if first[1:].islower() else text
    return Phrase(text, f"{labels}.{f.name}.label") if labels else text
