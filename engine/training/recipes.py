"""Training recipes: YAML files of hyper-parameters. Built-in ones in presets/training/, saved ones in
data/recipes/training/. A recipe never names a base model, a dataset or an adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import LoragError
from engine.presets import PRESETS_DIR
from engine.safety import RECIPE_NAME, validate_name
from engine.training.config import IN_RECIPE, TrainingConfig, in_recipe, parse_yaml_mapping

KIND = "training"


class Recipes:
    def __init__(self, user_dir: Path, builtin_dir: Path = PRESETS_DIR / KIND) -> None:
        self.user_dir = Path(user_dir)
        self.builtin_dir = Path(builtin_dir)

    def _path(self, name: str) -> Path | None:
        for folder in (self.user_dir, self.builtin_dir):
            path = folder / f"{name}.yaml"
            if path.is_file():
                return path
        return None

    def names(self) -> list[str]:
        builtin = sorted(p.stem for p in self.builtin_dir.glob("*.yaml"))
        saved = sorted(p.stem for p in self.user_dir.glob("*.yaml") if p.stem not in builtin)
        return builtin + saved

    def load(self, name: str) -> tuple[dict[str, Any], str]:
        """(settings, description) of a recipe."""
        path = self._path(name)
        if path is None:
            raise LoragError(f"There is no training recipe {name!r} (have: {', '.join(self.names())}).",
                             key="training.no_recipe", params={"name": name, "names": ', '.join(self.names())})
        return self.parse(path.read_text(), in_recipe(name))

    @staticmethod
    def parse(text: str, where: str = IN_RECIPE) -> tuple[dict[str, Any], str]:
        data = parse_yaml_mapping(text, where)
        description = str(data.pop("description", "") or "")
        TrainingConfig().merged(data, where)  # unknown keys and wrong types are refused here
        return data, description

    def apply(self, config: TrainingConfig, name: str) -> TrainingConfig:
        values, _ = self.load(name)
        return config.merged({**values, "recipe": name}, in_recipe(name))

    def save(self, name: str, config: TrainingConfig, description: str = "") -> Path:
        name = validate_name(name, RECIPE_NAME)
        if (self.builtin_dir / f"{name}.yaml").exists():
            raise LoragError(f"{name!r} is a built-in recipe; save yours under another name.",
                             key="training.builtin_recipe", params={"name": name})
        self.user_dir.mkdir(parents=True, exist_ok=True)
        path = self.user_dir / f"{name}.yaml"
        data = {"description": description or f"Saved from the Training tab ({config.recipe or 'custom'})",
                **config.validate().recipe_dict()}
        tmp = path.with_suffix(".partial")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        tmp.rename(path)
        return path
