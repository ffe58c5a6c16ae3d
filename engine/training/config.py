"""The training job's configuration: one dataclass, a help string per field, YAML in and out.

"Show config" displays `to_yaml()` of exactly the object the worker receives; recipes (presets/training/*.yaml and
the ones people save) hold the hyper-parameter fields only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import yaml

from engine.errors import LoragError, Phrase, Phrases
from engine.fields import kind_of, option, unknown_fields
from engine.fields import problems as field_problems

QUANTIZATIONS = ("none", "8bit", "4bit")
METHODS = ("sft", "dpo", "orpo")
DPO_LOSSES = ("sigmoid", "ipo", "hinge", "nca_pair", "apo_zero", "apo_down", "sigmoid_norm")
DEVICES = ("auto", "cuda", "cpu")
DISTRIBUTED = ("ddp", "fsdp")
MAX_CPU_PROCESSES = 16   # CPU processes (gloo) beyond the cores only slow a run down; the studio checks the cores

# Where settings came from, inside a message ("Unknown setting(s) in the form: ...").
IN_CONFIG = Phrase("the config", "error.training.in_config")
IN_YAML = Phrase("the YAML", "error.training.in_yaml")
IN_RECIPE = Phrase("the recipe", "error.training.in_recipe")
IN_FORM = Phrase("the form", "error.training.in_form")
IN_JOB_CONFIG = Phrase("the job config", "error.training.in_job_config")


def in_recipe(name: str) -> Phrase:
    return Phrase(f"recipe {name}", "error.training.in_named_recipe", {"name": name})


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
                                "tuning on chosen/rejected rows (trl's DPO and ORPO trainers).", recipe=False,
                         label="Method", choices=METHODS)
    beta: float = option(0.1, "DPO: how far the adapter may move from the base model (higher keeps it closer); "
                              "ORPO: the weight of the odds-ratio term.", label="Beta (DPO / ORPO)", above=0)
    loss_type: str = option("sigmoid", "DPO loss: sigmoid (the DPO paper), ipo, hinge, nca_pair, apo_zero, apo_down "
                                       "or sigmoid_norm.", label="DPO loss", choices=DPO_LOSSES)
    lora_rank: int = option(16, "LoRA rank r: size of the low-rank update. Higher learns more, costs more.",
                             label="LoRA rank", low=1)
    lora_alpha: float = option(32.0, "LoRA alpha: scale of the update (often 2 x rank).", label="LoRA alpha", above=0)
    lora_dropout: float = option(0.05, "Dropout on the LoRA input, 0-0.5.", label="LoRA dropout", low=0, high=0.5)
    target_modules: str = option("all-linear", "Layers that get LoRA: 'all-linear' or names separated by commas "
                                           "(q_proj,k_proj,v_proj,o_proj).", label="Target modules")
    learning_rate: float = option(2e-4, "Peak learning rate (AdamW).", label="Learning rate", above=0, below=1)
    epochs: float = option(3.0, "Passes over the data (used when max_steps is 0).", label="Epochs", low=0)
    max_steps: int = option(0, "Stop after this many optimizer steps (0: use epochs).", label="Max steps", low=0)
    batch_size: int = option(4, "Rows per device per step.", label="Batch size", low=1)
    grad_accum: int = option(1, "Gradient accumulation: steps of batch_size rows per optimizer step.",
                             label="Gradient accumulation", low=1)
    processes: int = option(1, "Training processes (one per GPU; on the CPU, gloo): above 1 the worker runs under "
                               "accelerate launch, each process holds a whole copy of the model (DDP) and trains "
                               "batch_size rows per step, so the global batch is batch size x processes x gradient "
                               "accumulation.", recipe=False, label="Processes", low=1, high=MAX_CPU_PROCESSES)
    distributed: str = option("ddp", "With several processes: ddp (each process holds the whole model) or fsdp (the "
                                     "weights, gradients and optimizer state are sharded over the GPUs, for a model "
                                     "larger than one GPU; GPUs only, presets/accelerate/fsdp.yaml).",
                              label="Multi-process mode", choices=DISTRIBUTED)
    max_length: int = option(1024, "Longest sequence in tokens; longer rows are cut (packing: the packed length).",
                             label="Max length", low=16, high=131072)
    packing: bool = option(False, "Pack several short rows into one sequence of max_length (no padding).",
                           label="Packing")
    assistant_only: bool = option(True, "Train only on the assistant turns (chat) or the completion; untick to train "
                                    "on every token.", label="Train only on assistant turns")
    validation_split: float = option(0.0, "Fraction of rows held out to compute an eval loss (0-0.5).",
                                     label="Validation split", low=0, high=0.5)
    seed: int = option(42, "Random seed (shuffling, the validation split, LoRA init).", label="Seed")
    quantization: str = option("none", "Load the base as: none, 8bit, or 4bit (QLoRA, nf4).", label="Quantization",
                                choices=QUANTIZATIONS)
    save_steps: int = option(50, "Save a checkpoint every N steps (a cancel always saves one).",
                             label="Save every N steps", low=1)
    warmup_ratio: float = option(0.03, "Fraction of steps with a rising learning rate.", label="Warmup ratio", low=0,
                                 below=1)
    lr_scheduler: str = option("cosine", "Learning-rate schedule: cosine, linear or constant.", label="LR schedule",
                                choices=("cosine", "linear", "constant"))
    weight_decay: float = option(0.0, "AdamW weight decay.", label="Weight decay")
    logging_steps: int = option(0, "Log loss every N steps (0: about 100 points over the run).",
                                label="Log every N steps", low=0)
    eval_steps: int = option(0, "Compute the eval loss every N steps (0: about 10 times over the run).",
                             label="Eval every N steps", low=0)
    device: str = option("auto", "Where to train: auto (the GPU when there is one), cuda or cpu.", recipe=False,
                          label="Device", choices=DEVICES)
    cpu_threads: int = option(0, "CPU threads for training on the CPU (0: all cores; 1 for tiny models).",
                              label="CPU threads", low=0)
    gradient_checkpointing: str = option("auto", "Recompute activations to save memory: auto (on for GPU), on, off.",
                                          label="Gradient checkpointing", choices=("auto", "on", "off"))

    # --- conversion -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    def recipe_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RECIPE_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = IN_CONFIG) -> "TrainingConfig":
        known = {f.name: f for f in fields(cls)}
        unknown = unknown_fields(cls, data)
        if unknown:
            raise LoragError(f"Unknown setting(s) in {where}: {', '.join(unknown)}.",
                             key="training.unknown_settings", params={"where": where, "unknown": ', '.join(unknown)})
        return cls(**{name: _coerce(known[name], value, where) for name, value in data.items()})

    @classmethod
    def from_yaml(cls, text: str, where: str = IN_YAML) -> "TrainingConfig":
        return cls.from_dict(parse_yaml_mapping(text, where), where)

    def merged(self, changes: dict[str, Any], where: str = IN_RECIPE) -> "TrainingConfig":
        return TrainingConfig.from_dict({**self.to_dict(), **changes}, where)

    # --- checks ----------------------------------------------------------------------------------------------
    def validate(self) -> "TrainingConfig":
        """Refuse settings outside their fields' choices and bounds, or that cannot train together."""
        problems = field_problems(self, "field.training")
        if not (self.max_steps > 0 or self.epochs > 0):
            problems.append(Phrase("set epochs or max steps", "error.training.set_length"))
        if self.packing and self.method != "sft":
            problems.append(Phrase("packing applies to SFT only: untick it for DPO / ORPO",
                                   "error.training.packing_sft"))
        if self.processes > 1 and self.distributed == "fsdp" and self.quantization != "none":
            problems.append(Phrase("fsdp shards full-precision weights: set quantization to none (or use ddp)",
                                   "error.training.fsdp_quantized"))
        if not self.target_modules.strip():
            problems.append(Phrase("name the target modules (or all-linear)", "error.training.no_target_modules"))
        if problems:
            raise LoragError(f"The training settings need a fix: {Phrases(problems)}.", key="training.needs_fix",
                             params={"problems": Phrases(problems)})
        return self

    @property
    def global_batch(self) -> int:
        """Rows per optimizer step over all processes."""
        return self.batch_size * self.processes * self.grad_accum

    def target_list(self) -> str | list[str]:
        text = self.target_modules.strip()
        return "all-linear" if text == "all-linear" else [t.strip() for t in text.split(",") if t.strip()]


# The hyper-parameters: what a recipe holds (never the base model, the dataset or the adapter's name).
RECIPE_FIELDS = tuple(f.name for f in fields(TrainingConfig) if f.metadata.get("recipe", True) and f.name != "recipe")


def parse_yaml_mapping(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise LoragError(f"{where} is not valid YAML: {exc}",
                         key="training.bad_yaml", params={"where": where, "exc": exc}) from None
    if not isinstance(data, dict):
        raise LoragError(f"{where} must be a YAML mapping of setting: value.",
                         key="training.yaml_not_mapping", params={"where": where})
    return data


def _coerce(f: dataclasses.Field, value: Any, where: str) -> Any:
    kind = kind_of(f)
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
        raise LoragError(f"{f.name} in {where} must be a {kind}, not {value!r}.",
                         key="training.wrong_type",
                         params={"field": f.name, "where": where, "kind": kind, "value": value}) from None

