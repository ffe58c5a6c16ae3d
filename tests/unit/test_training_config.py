"""The job config and the recipes: every built-in recipe is valid, YAML round-trips, bad values are refused."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pytest

from engine.errors import LoragError
from engine.fields import known_fields, option, problems, unknown_fields
from engine.training.config import RECIPE_FIELDS, TrainingConfig
from engine.training.recipes import Recipes

BUILTIN = ["balanced", "fsdp", "knowledge", "qlora-4bit", "quick", "style"]


def test_builtin_recipes_load_and_validate(tmp_path):
    recipes = Recipes(tmp_path / "saved")
    assert recipes.names() == BUILTIN
    for name in BUILTIN:
        values, description = recipes.load(name)
        assert description and values
        config = recipes.apply(TrainingConfig(), name).validate()
        assert config.recipe == name
    assert recipes.apply(TrainingConfig(), "qlora-4bit").quantization == "4bit"


def test_recipe_save_and_load_round_trip(tmp_path):
    recipes = Recipes(tmp_path / "saved")
    config = recipes.apply(TrainingConfig(base_model="m", adapter_name="a", dataset="d"), "style")
    config = config.merged({"lora_rank": 12, "learning_rate": 5e-5})
    path = recipes.save("my-style", config, "mine")
    assert "base_model" not in path.read_text() and "adapter_name" not in path.read_text()
    assert "my-style" in recipes.names()
    loaded = recipes.apply(TrainingConfig(), "my-style")
    assert loaded.lora_rank == 12 and loaded.learning_rate == 5e-5 and loaded.target_modules == config.target_modules
    with pytest.raises(LoragError, match="built-in"):
        recipes.save("quick", config)
    with pytest.raises(LoragError, match="not allowed"):
        recipes.save("../evil", config)


def test_config_yaml_round_trip_is_exact():
    config = TrainingConfig(base_model="Qwen/Qwen3-0.6B", adapter_name="x", dataset="abc", placeholders={"name": "L"},
                            lora_rank=4, packing=True, validation_split=0.1)
    assert TrainingConfig.from_yaml(config.to_yaml()) == config


@pytest.mark.parametrize("changes, message", [
    ({"lora_rank": 0}, "rank"),
    ({"learning_rate": 3}, "learning rate"),
    ({"quantization": "2bit"}, "quantization"),
    ({"validation_split": 0.9}, "validation split"),
    ({"max_steps": 0, "epochs": 0}, "epochs or max steps"),
    ({"max_length": 4}, "max length"),
    ({"processes": 0}, "processes must be between 1"),
    ({"processes": 2, "distributed": "fsdp", "quantization": "4bit"}, "fsdp shards full-precision"),
])
def test_bad_values_are_refused_with_a_reason(changes, message):
    with pytest.raises(LoragError, match=message):
        TrainingConfig().merged(changes).validate()


def test_unknown_keys_and_wrong_types_are_refused():
    with pytest.raises(LoragError, match="Unknown setting"):
        TrainingConfig.from_dict({"lora_rnk": 4})
    with pytest.raises(LoragError, match="lora_rank .* must be a int"):
        TrainingConfig.from_dict({"lora_rank": "big"})
    with pytest.raises(LoragError, match="not valid YAML"):
        Recipes.parse("lora_rank: [1,", "the file")
    assert TrainingConfig.from_dict({"packing": "yes", "lora_rank": 8.0}).packing is True


def test_choices_bounds_and_labels_come_from_the_fields():
    @dataclass
    class Knobs:
        mode: str = option("a", "Mode.", choices=("a", "b"))
        rate: float = option(0.5, "Rate.", label="Learning rate", above=0, below=1)
        rank: int = option(1, "Rank.", label="LoRA rank", low=1)
        free: int = option(0, "No bounds.")

    assert problems(Knobs(free=-5)) == []
    assert problems(Knobs(mode="c", rate=1.0, rank=0)) == [
        "mode must be one of a, b", "learning rate must be between 0 and 1", "LoRA rank must be at least 1"]
    assert known_fields(Knobs, {"mode": "b", "from_a_newer_file": 1}) == {"mode": "b"}
    assert unknown_fields(Knobs, {"mode": "b", "x": 1}) == ["x"]


def test_recipes_hold_the_hyper_parameters_and_the_form_shows_every_field(tmp_path):
    from engine.settings import Settings
    from engine.studio import Studio
    from ui.app import build_app
    from ui.i18n import say

    assert set(RECIPE_FIELDS) == {f.name for f in fields(TrainingConfig) if f.metadata.get("recipe", True)} - {"recipe"}
    assert set(TrainingConfig().recipe_dict()) == set(RECIPE_FIELDS)
    app = build_app(Studio(Settings(data_dir=tmp_path / "data", no_weaviate=True)))
    inputs = {block.elem_id: block for block in app.blocks.values() if (block.elem_id or "").startswith("training-")}
    for f in fields(TrainingConfig):
        if f.name in RECIPE_FIELDS or f.name == "device":
            widget = inputs[f"training-{f.name}"]
            assert say(widget.info.key, "en") == f.metadata["help"], f.name   # the catalogue's English
            if "choices" in f.metadata:
                assert [value for _, value in widget.choices] == list(f.metadata["choices"]), f.name
