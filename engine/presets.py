"""YAML presets under presets/<kind>/*.yaml (models, generation, training). Data only, no code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import LoragError

PRESETS_DIR = Path(__file__).resolve().parents[1] / "presets"


def preset_names(kind: str) -> list[str]:
    return sorted(p.stem for p in (PRESETS_DIR / kind).glob("*.yaml"))


def load_preset(kind: str, name: str) -> dict[str, Any]:
    path = PRESETS_DIR / kind / f"{name}.yaml"
    if not path.is_file():
        raise LoragError(f"There is no {kind} preset {name!r} (have: {', '.join(preset_names(kind)) or 'none'}).",
                         key="presets.not_found",
                         params={"kind": kind, "name": name, "names": ', '.join(preset_names(kind)) or 'none'})
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise LoragError(f"The preset {path} must be a YAML mapping.", key="presets.not_mapping", params={"path": path})
    return data


def load_presets(kind: str) -> dict[str, dict[str, Any]]:
    return {name: load_preset(kind, name) for name in preset_names(kind)}
