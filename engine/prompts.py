"""The prompts Lorag writes for the model, per language: presets/prompts/<language>.yaml (data, not code).

A chat records the language of the page it was written on (its settings' "language"); a language without a file
gets English, and a key missing from a file gets the English one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

FOLDER = Path(__file__).resolve().parents[1] / "presets" / "prompts"
DEFAULT_LANGUAGE = "en"


@cache
def _load(language: str) -> dict[str, str]:
    path = FOLDER / f"{language}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def prompt(key: str, language: str | None = None) -> str:
    """The prompt text `key` in `language` (English when that language or key has none)."""
    own = _load(language or DEFAULT_LANGUAGE)
    return own[key] if key in own else _load(DEFAULT_LANGUAGE)[key]


def languages() -> list[str]:
    return sorted(path.stem for path in FOLDER.glob("*.yaml"))
