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


def problems(instance: Any) -> list[str]:
    """One sentence per field whose value is not among its choices or outside its bounds."""
    out = []
    for f in fields(instance):
        value, meta = getattr(instance, f.name), f.metadata
        choices = meta.get("choices")
        if choices is not None and value not in choices:
            out.append(f"{_subject(f)} must be one of {', '.join(map(str, choices))}")
        elif any(name in meta for name in BOUNDS) and not _within(value, meta):
            out.append(f"{_subject(f)} {_bounds_text(meta)}")
    return out


def _within(value: Any, meta: Mapping[str, Any]) -> bool:
    return (("low" not in meta or value >= meta["low"]) and ("high" not in meta or value <= meta["high"])
            and ("above" not in meta or value > meta["above"]) and ("below" not in meta or value < meta["below"]))


def _bounds_text(meta: Mapping[str, Any]) -> str:
    lower = meta.get("low", meta.get("above"))
    upper = meta.get("high", meta.get("below"))
    if lower is not None and upper is not None:
        return f"must be between {lower} and {upper}"
    if "low" in meta:
        return "cannot be negative" if meta["low"] == 0 else f"must be at least {meta['low']}"
    if "above" in meta:
        return "must be positive" if meta["above"] == 0 else f"must be above {meta['above']}"
    return f"must be at most {upper}" if "high" in meta else f"must be below {upper}"


def _subject(f: Field) -> str:
    """The label inside a sentence: 'Learning rate' -> 'learning rate', 'LoRA rank' stays."""
    text = label_of(f)
    first = text.split(" ", 1)[0]
    return text[0].lower() + text[1:] if first[1:].islower() else text
