"""Preference tuning inside the worker: trl's DPO and ORPO trainers on rows Lorag encoded itself.

The rows arrive as prompt / chosen / rejected token ids, rendered through the base's own chat template by
`Encoder` (the ids the preview shows). trl would render and tokenize the text again; both trainers are told to take
the ids as they are.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.training.config import TrainingConfig
from engine.training.encoding import Encoded
from engine.training.prepare import Prepared

log = logging.getLogger(__name__)


def preference_dataset(rows: list[Encoded], max_length: int):
    """prompt_ids / chosen_ids / rejected_ids, without the rows whose prompt alone fills max length (as trl does)."""
    from datasets import Dataset

    kept = [r for r in rows if r.prompt_length < max_length]
    return Dataset.from_dict({"prompt_ids": [r.input_ids[:r.prompt_length] for r in kept],
                              "chosen_ids": [r.input_ids[r.prompt_length:] for r in kept],
                              "rejected_ids": [r.rejected_ids[r.prompt_length:] for r in kept]})


def preference_trainer(config: TrainingConfig, model, args: dict[str, Any], prepared: Prepared, tokenizer,
                       peft_config, callbacks: list):
    datasets = {"train_dataset": preference_dataset(prepared.train, config.max_length),
                "eval_dataset": preference_dataset(prepared.eval, config.max_length) if prepared.eval else None}
    build = {"dpo": _dpo, "orpo": _orpo}[config.method]
    return build(config, model, args, datasets, tokenizer, peft_config, callbacks)


def _dpo(config: TrainingConfig, model, args: dict[str, Any], datasets: dict, tokenizer, peft_config, callbacks):
    from trl import DPOConfig, DPOTrainer

    class EncodedDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return dataset  # already prompt_ids / chosen_ids / rejected_ids

    # With a peft model and no ref_model, trl's reference is the base with the adapter switched off.
    dpo_args = DPOConfig(**args, beta=config.beta, loss_type=[config.loss_type])
    return EncodedDPOTrainer(model=model, args=dpo_args, processing_class=tokenizer, peft_config=peft_config,
                             callbacks=callbacks, **datasets)


def _orpo(config: TrainingConfig, model, args: dict[str, Any], datasets: dict, tokenizer, peft_config, callbacks):
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    class EncodedORPOTrainer(ORPOTrainer):
        def tokenize_row(self, feature, model=None) -> dict:
            prompt = feature["prompt_ids"]
            out = {"prompt_input_ids": prompt, "prompt_attention_mask": [1] * len(prompt)}
            for part in ("chosen", "rejected"):
                ids = (prompt + feature[f"{part}_ids"])[:self.max_length]
                out.update({f"{part}_input_ids": ids, f"{part}_attention_mask": [1] * len(ids),
                            f"{part}_labels": [-100] * len(prompt) + ids[len(prompt):]})
            return out

    orpo_args = ORPOConfig(**args, beta=config.beta, remove_unused_columns=False)
    return EncodedORPOTrainer(model=model, args=orpo_args, processing_class=tokenizer, peft_config=peft_config,
                              callbacks=callbacks, **datasets)
