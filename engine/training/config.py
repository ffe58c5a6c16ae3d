"""The training job's configuration: one dataclass, a help string per field, YAML in and out.

"Show config" displays `to_yaml()` of exactly the object the worker receives; recipes (presets/training/*.yaml and
the ones people save) hold the hyper-parameter fields only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import yaml

from engine.errors import LoragError
from engine.fields import option

QUANTIZATIONS = ("none", "8bit", "4bit")
METHODS = ("sft", "dpo", "orpo")
DPO_LOSSES = ("sigmoid", "ipo", "hinge", "nca_pair", "apo_zero", "apo_down", "sigmoid_norm")
DEVICES = ("auto", "cuda", "cpu")


@dataclass
class TrainingConfig:
    """Everything a training job runs with."""

    base_model: str = option("", "Base model: a folder under data/models, a local path, or a Hugging Face hub id.",
                         recipe=False)
    adapter_name: str = option("", "Name of the adapter folder written to data/adapters/<name>.", recipe=False)
    dataset: str = option("", "sha256 of the uploaded dataset in data/datasets.", recipe=False)
    drop_bad_rows: bool = option(True, "Skip rows with problems (listed by line) instead of refusing to start.",
                             recipe=False)
    placeholders: dict = option({}, "Values for {{name}}-style placeholders in the rows (e.g. name: Lorag).",
                            recipe=False)
    recipe: str = option("", "The recipe these settings came from (informative).")
    method: str = option("sft", "sft: learn the answers of the rows (supervised fine-tuning). dpo / orpo: preference "
                                "tuning on chosen/rejected rows (trl's DPO and ORPO trainers).", recipe=False)
    beta: float = option(0.1, "DPO: how far the adapter may move from the base model (higher keeps it closer); "
                              "ORPO: the weight of the odds-ratio term.")
    loss_type: str = option("sigmoid", "DPO loss: sigmoid (the DPO paper), ipo, hinge, nca_pair, apo_zero, apo_down "
                                       "or sigmoid_norm.")
    lora_rank: int = option(16, "LoRA rank r: size of the low-rank update. Higher learns more, costs more.")
    lora_alpha: float = option(32.0, "LoRA alpha: scale of the update (often 2 x rank).")
    lora_dropout: float = option(0.05, "Dropout on the LoRA input, 0-0.5.")
    target_modules: str = option("all-linear", "Layers that get LoRA: 'all-linear' or names separated by commas "
                                           "(q_proj,k_proj,v_proj,o_proj).")
    learning_rate: float = option(2e-4, "Peak learning rate (AdamW).")
    epochs: float = option(3.0, "Passes over the data (used when max_steps is 0).")
    max_steps: int = option(0, "Stop after this many optimizer steps (0: use epochs).")
    batch_size: int = option(4, "Rows per device per step.")
    grad_accum: int = option(1, "Gradient accumulation: steps of batch_size rows per optimizer step.")
    max_length: int = option(1024, "Longest sequence in tokens; longer rows are cut (packing: the packed length).")
    packing: bool = option(False, "Pack several short rows into one sequence of max_length (no padding).")
    assistant_only: bool = option(True, "Train only on the assistant turns (chat) or the completion; untick to train "
                                    "on every token.")
    validation_split: float = option(0.0, "Fraction of rows held out to compute an eval loss (0-0.5).")
    seed: int = option(42, "Random seed (shuffling, the validation split, LoRA init).")
    quantization: str = option("none", "Load the base as: none, 8bit, or 4bit (QLoRA, nf4).")
    save_steps: int = option(50, "Save a checkpoint every N steps (a cancel always saves one).")
    warmup_ratio: float = option(0.03, "Fraction of steps with a rising learning rate.")
    lr_scheduler: str = option("cosine", "Learning-rate schedule: cosine, linear or constant.")
    weight_decay: float = option(0.0, "AdamW weight decay.")
    logging_steps: int = option(0, "Log loss every N steps (0: about 100 points over the run).")
    eval_steps: int = option(0, "Compute the eval loss every N steps (0: about 10 times over the run).")
    device: str = option("auto", "Where to train: auto (the GPU when there is one), cuda or cpu.", recipe=False)
    cpu_threads: int = option(0, "CPU threads for training on the CPU (0: all cores; 1 for tiny models).")
    gradient_checkpointing: str = option("auto", "Recompute activations to save memory: auto (on for GPU), on, off.")

    # --- conversion -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def recipe_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.metadata.get("recipe", True) and f.name != "recipe"}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "the config") -> "TrainingConfig":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise LoragError(f"Unknown setting(s) in {where}: {', '.join(unknown)}.")
        return cls(**{name: _coerce(known[name], value, where) for name, value in data.items()})

    @classmethod
    def from_yaml(cls, text: str, where: str = "the YAML") -> "TrainingConfig":
        return cls.from_dict(parse_yaml_mapping(text, where), where)

    def merged(self, changes: dict[str, Any], where: str = "the recipe") -> "TrainingConfig":
        return TrainingConfig.from_dict({**self.to_dict(), **changes}, where)

    # --- checks ----------------------------------------------------------------------------------------------
    def validate(self) -> "TrainingConfig":
        problems = []
        checks = [
            (self.lora_rank >= 1, "LoRA rank must be at least 1"),
            (self.lora_alpha > 0, "LoRA alpha must be positive"),
            (0 <= self.lora_dropout <= 0.5, "LoRA dropout must be between 0 and 0.5"),
            (0 < self.learning_rate < 1, "the learning rate must be between 0 and 1"),
            (self.max_steps > 0 or self.epochs > 0, "set epochs or max steps"),
            (self.max_steps >= 0 and self.epochs >= 0, "epochs and max steps cannot be negative"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.grad_accum >= 1, "gradient accumulation must be at least 1"),
            (16 <= self.max_length <= 131072, "max length must be between 16 and 131072 tokens"),
            (0 <= self.validation_split <= 0.5, "the validation split must be between 0 and 0.5"),
            (self.quantization in QUANTIZATIONS, f"quantization must be one of {', '.join(QUANTIZATIONS)}"),
            (self.save_steps >= 1, "save every N steps must be at least 1"),
            (0 <= self.warmup_ratio < 1, "warmup ratio must be between 0 and 1"),
            (self.lr_scheduler in ("cosine", "linear", "constant"), "schedule must be cosine, linear or constant"),
            (self.device in DEVICES, f"device must be one of {', '.join(DEVICES)}"),
            (self.method in METHODS, f"method must be one of {', '.join(METHODS)}"),
            (self.beta > 0, "beta must be positive"),
            (self.loss_type in DPO_LOSSES, f"the DPO loss must be one of {', '.join(DPO_LOSSES)}"),
            (not (self.packing and self.method != "sft"), "packing applies to SFT only: untick it for DPO / ORPO"),
            (self.gradient_checkpointing in ("auto", "on", "off"), "gradient checkpointing must be auto, on or off"),
            (self.cpu_threads >= 0 and self.logging_steps >= 0 and self.eval_steps >= 0,
             "threads, logging and eval steps cannot be negative"),
            (bool(self.target_modules.strip()), "name the target modules (or all-linear)"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise LoragError("The training settings need a fix: " + "; ".join(problems) + ".")
        return self

    def target_list(self) -> str | list[str]:
        text = self.target_modules.strip()
        return "all-linear" if text == "all-linear" else [t.strip() for t in text.split(",") if t.strip()]


def parse_yaml_mapping(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LoragError(f"{where} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise LoragError(f"{where} must be a YAML mapping of setting: value.")
    return data


def _coerce(f: dataclasses.Field, value: Any, where: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "bool":
            if isinstance(value, str):
                if value.strip().lower() in ("1", "true", "yes", "on"):
                    return True
                if value.strip().lower() in ("0", "false", "no", "off", ""):
                    return False
                raise ValueError(value)
            return bool(value)
        if kind == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "dict":
            if not isinstance(value, dict):
                raise ValueError(value)
            return {str(k): str(v) for k, v in value.items()}
        return "" if value is None else str(value)
    except (TypeError, ValueError):
        raise LoragError(f"{f.name} in {where} must be a {kind}, not {value!r}.") from None


def field_help() -> dict[str, str]:
    return {f.name: f.metadata["help"] for f in fields(TrainingConfig)}
