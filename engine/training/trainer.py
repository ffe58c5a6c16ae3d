"""Inside the worker process: load the base, build trl's SFTTrainer (or DPO / ORPO trainer) with peft on the prepared
rows, train, save.

Nothing here runs in the studio process: `engine.training.worker` calls `run_job`. In a multi-process run every
process runs it (the trainer makes it DDP or FSDP); what is collective (training, evaluation, an FSDP save) runs on
all of them, what is written (progress, metrics, the adapter) on rank 0 only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.adapters.meta import AdapterMeta, BaseFingerprint
from engine.jobs import Jobs
from engine.training.callbacks import CancelCallback, ProgressCallback
from engine.training.config import TrainingConfig
from engine.training.datasets import DatasetStore
from engine.training.encoding import chat_template_of
from engine.training.estimate import ESTIMATES, EstimateCache, from_cache, timing, timing_text
from engine.training.jobfiles import JobFiles, JobSpec
from engine.training.launch import is_main
from engine.training.plan import auto_eval_steps, planned_steps
from engine.training.preference import preference_trainer
from engine.training.prepare import Prepared, prepare
from engine.training.targets import lora_config
from engine.training.verdict import RunFacts, Verdict, judge, setting_causes

log = logging.getLogger(__name__)

NO_SIZE_LIMIT = 1 << 62  # the file was size-checked when it was uploaded


@dataclass
class Outcome:
    status: str                      # completed | cancelled
    message: str
    result: dict[str, Any]


def _threads(config: TrainingConfig, model_config: Any) -> int:
    if config.cpu_threads:
        return config.cpu_threads
    if getattr(model_config, "hidden_size", 1024) <= 256:
        return 1  # tiny models: more threads only add overhead
    return max(1, len(os.sched_getaffinity(0)))


def _quantization(config: TrainingConfig, device: str):
    import torch
    from transformers import BitsAndBytesConfig

    if config.quantization == "4bit":
        compute = torch.bfloat16 if device == "cuda" else torch.float32
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=compute)
    if config.quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


def _dtype(device: str):
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def base_config(source: str):
    """The base's config, without a stale `gguf` quantization entry: a folder converted from a GGUF file holds plain
    float weights but keeps that entry, and transformers then refuses to train it."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    quant = getattr(config, "quantization_config", None)
    method = quant.get("quant_method") if isinstance(quant, dict) else getattr(quant, "quant_method", None)
    if str(getattr(method, "value", method)).lower() == "gguf":
        del config.quantization_config
    return config


def load_base(spec: JobSpec, config: TrainingConfig):
    from transformers import AutoModelForCausalLM

    quant = _quantization(config, spec.device)
    kwargs: dict[str, Any] = {"dtype": _dtype(spec.device), "trust_remote_code": False,
                              "config": base_config(spec.base_source)}
    if quant is not None:
        kwargs["quantization_config"] = quant
        # several processes: each loads its quantized base on its own GPU (accelerate's LOCAL_RANK)
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0")) if spec.device == "cuda" else "cpu"}
    model = AutoModelForCausalLM.from_pretrained(spec.base_source, **kwargs)
    model.config.use_cache = False
    if quant is not None and spec.device == "cpu":
        _keep_4bit_layout(model)
    return model


def _keep_4bit_layout(model) -> None:
    """bitsandbytes repacks 4-bit weights for its AVX512-BF16 CPU kernel on the first no-grad forward (eval). The
    repack fails for layers narrower than its 64-value block and flips the layout mid-training; eval on the CPU uses
    the same dequantizing path as training instead."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def training_args(spec: JobSpec, config: TrainingConfig, files: JobFiles, prepared: Prepared) -> dict[str, Any]:
    """The arguments every method's trl config shares (transformers' TrainingArguments)."""
    total = planned_steps(config, len(prepared.train))
    on_gpu = spec.device == "cuda"
    checkpointing = config.gradient_checkpointing == "on" or (config.gradient_checkpointing == "auto" and on_gpu)
    evaluate = bool(prepared.eval)
    return dict(
        output_dir=str(files.checkpoints), seed=config.seed, data_seed=config.seed,
        max_steps=config.max_steps or -1, num_train_epochs=config.epochs or 1,
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler, warmup_steps=config.warmup_ratio, weight_decay=config.weight_decay,
        max_length=config.max_length,
        logging_steps=config.logging_steps or max(1, total // 100), logging_first_step=True,
        eval_strategy="steps" if evaluate else "no", eval_steps=config.eval_steps or auto_eval_steps(total),
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=2,
        use_cpu=not on_gpu, bf16=on_gpu and _bf16_ok(), fp16=on_gpu and not _bf16_ok(),
        activation_checkpointing=checkpointing,
        report_to=[], disable_tqdm=True, dataloader_num_workers=0, dataset_num_proc=None,
        include_num_input_tokens_seen="all" if spec.calibration else "no",  # padded tokens: what a step costs
    )


def sft_config(spec: JobSpec, config: TrainingConfig, files: JobFiles, prepared: Prepared):
    from trl import SFTConfig

    return SFTConfig(**training_args(spec, config, files, prepared), packing=config.packing,
                     remove_unused_columns=True)


def _bf16_ok() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def _as_dataset(rows):
    from datasets import Dataset

    return Dataset.from_dict({"input_ids": [r.input_ids for r in rows], "assistant_masks": [r.mask for r in rows]})


def build_trainer(spec: JobSpec, config: TrainingConfig, files: JobFiles, prepared: Prepared, tokenizer,
                  callbacks: list):
    from transformers import PrinterCallback

    model = load_base(spec, config)
    peft_config = lora_config(config, model)
    if config.method == "sft":
        trainer = sft_trainer(model, sft_config(spec, config, files, prepared), prepared, tokenizer, peft_config,
                              callbacks)
    else:
        trainer = preference_trainer(config, model, training_args(spec, config, files, prepared), prepared, tokenizer,
                                     peft_config, callbacks)
    trainer.remove_callback(PrinterCallback)  # ProgressCallback logs one readable line per log instead
    return trainer


def sft_trainer(model, args, prepared: Prepared, tokenizer, peft_config, callbacks: list):
    from trl import SFTTrainer

    return SFTTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=_as_dataset(prepared.train),
                      eval_dataset=_as_dataset(prepared.eval) if prepared.eval else None, peft_config=peft_config,
                      callbacks=callbacks)


def _final_metrics(trainer, output, progress: ProgressCallback, prepared: Prepared) -> dict[str, Any]:
    history = trainer.state.log_history
    losses = [h["loss"] for h in history if "loss" in h]
    tokens = max((h.get("num_tokens", 0) for h in history), default=0)
    runtime = output.metrics.get("train_runtime") or 0.0
    metrics = {"train_loss": losses[-1] if losses else None, "train_loss_mean": output.metrics.get("train_loss"),
               "eval_loss": progress.eval_loss, "steps": trainer.state.global_step, "epochs": trainer.state.epoch,
               "train_tokens": tokens, "train_runtime_s": runtime, "train_cpu_s": progress.cpu_s,
               "tokens_per_s": (tokens / runtime) if runtime and tokens else progress.tokens_per_s,
               "rows": prepared.rows}
    return metrics


def write_adapter(trainer, spec: JobSpec, config: TrainingConfig, files: JobFiles, prepared: Prepared,
                  metrics: dict[str, Any], tokenizer) -> Path:
    """Save the adapter with lorag.json into the job folder, then rename it into data/adapters (atomic)."""
    import shutil

    adapters = Path(spec.data_dir) / "adapters"
    adapters.mkdir(parents=True, exist_ok=True)
    model = trainer.model
    if not _fsdp(trainer):  # FSDP: save_sharded wrote it already, with every process
        shutil.rmtree(files.staging, ignore_errors=True)
        model.save_pretrained(str(files.staging), safe_serialization=True)
    lora = model.peft_config["default"]
    targets = sorted(lora.target_modules) if not isinstance(lora.target_modules, str) else [lora.target_modules]
    targets += sorted(lora.target_parameters or [])
    name = unique_name(adapters, config.adapter_name)
    base_config = model.get_base_model().config
    meta = AdapterMeta(
        name=name, base=BaseFingerprint.of(base_config, spec.base_label), rank=config.lora_rank,
        alpha=config.lora_alpha, dropout=config.lora_dropout, target_modules=targets, source="trained",
        dataset={"sha256": prepared.report.sha256, "format": prepared.report.format,
                 "file": prepared.report.filename, "rows": prepared.rows, "train_rows": len(prepared.train),
                 "eval_rows": len(prepared.eval), "dropped_rows": prepared.dropped_count},
        params={**config.to_dict(), "adapter_name": name, "base_source": spec.base_source, "device": spec.device,
                "loss_mask": prepared.plan.method, "loss_mask_note": prepared.plan.note,
                "quantized_layers": quantized_layers(model)},
        metrics=metrics, chat_template=chat_template_of(tokenizer), job_id=spec.job_id)
    meta.save(files.staging)
    target = adapters / name
    os.rename(files.staging, target)
    return target


def _fsdp(trainer) -> bool:
    return bool(getattr(trainer, "is_fsdp_enabled", False))


def save_sharded(trainer, files: JobFiles) -> None:
    """FSDP: every process takes part in gathering the adapter's shards (FULL_STATE_DICT in
    presets/accelerate/fsdp.yaml); rank 0 writes them to the staging folder. Not yet run on GPUs by the tests."""
    import shutil

    if is_main():
        shutil.rmtree(files.staging, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(files.staging))


def quantized_layers(model) -> int:
    """How many linear layers of the base run quantized (bitsandbytes 4-bit or 8-bit): proof QLoRA really ran."""
    return sum(1 for m in model.modules() if type(m).__module__.startswith("bitsandbytes")
               and type(m).__name__ in ("Linear4bit", "Linear8bitLt"))


def unique_name(adapters: Path, wanted: str) -> str:
    if not (adapters / wanted).exists():
        return wanted
    n = 2
    while (adapters / f"{wanted}-{n}").exists():
        n += 1
    log.warning("an adapter named %s appeared while training; saving as %s-%d", wanted, wanted, n)
    return f"{wanted}-{n}"


def load_rows(spec: JobSpec) -> tuple[TrainingConfig, Any, Prepared]:
    """The config, the base's tokenizer and the prepared rows; torch's threads set (a real run and a calibration)."""
    import torch
    from transformers import AutoTokenizer

    config = spec.training
    if spec.device == "cuda" and not torch.cuda.is_available():
        log.warning("no CUDA device is visible to the worker: training on the CPU")
        spec.device = "cpu"
    tokenizer = AutoTokenizer.from_pretrained(spec.base_source, trust_remote_code=False)
    prepared = prepare(config, DatasetStore(Path(spec.data_dir) / "datasets", NO_SIZE_LIMIT), tokenizer)
    log.info("dataset %s: %s, %d rows (%d train, %d eval), %d dropped", prepared.report.filename,
             prepared.report.format_label, prepared.rows, len(prepared.train), len(prepared.eval),
             prepared.dropped_count)
    log.info("loss mask: %s", prepared.plan.note)
    torch.set_num_threads(_threads(config, base_config(spec.base_source)))
    log.info("device %s, %d CPU thread(s), quantization %s", spec.device, torch.get_num_threads(),
             config.quantization)
    return config, tokenizer, prepared


def run_job(spec: JobSpec, files: JobFiles, jobs: Jobs, stop: threading.Event, resume: bool) -> Outcome:
    config, tokenizer, prepared = load_rows(spec)
    _warn_before(config, prepared)
    estimate, _ = from_cache(EstimateCache(Path(spec.data_dir) / ESTIMATES), spec.base_source, spec.device, config,
                             prepared)
    progress = ProgressCallback(files, jobs, spec.job_id, spec.device)
    cancel = CancelCallback(stop, jobs, spec.job_id)
    if is_main():
        jobs.update(spec.job_id, message="Loading the model…")
    trainer = build_trainer(spec, config, files, prepared, tokenizer, [progress, cancel] if is_main() else [cancel])
    checkpoint = files.last_checkpoint() if resume else None
    if checkpoint:
        log.info("resuming from %s", checkpoint.name)
    started = time.time()
    output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    step, total = trainer.state.global_step, trainer.state.max_steps
    if stop.is_set() and step < total:
        saved = files.last_checkpoint()
        where = f"checkpoint at step {saved.name.split('-')[-1]} saved" if saved else "no checkpoint yet"
        return Outcome("cancelled", f"Cancelled at step {step} of {total}; {where}. Resume continues from it.",
                       {"global_step": step, "max_steps": total, "checkpoint": str(saved) if saved else ""})
    evaluated = [h["step"] for h in trainer.state.log_history if "eval_loss" in h]  # the same on every process
    if prepared.eval and (evaluated[-1] if evaluated else None) != step:
        trainer.evaluate()
    if _fsdp(trainer):
        save_sharded(trainer, files)
    if not is_main():
        return Outcome("completed", "", {})
    metrics = _final_metrics(trainer, output, progress, prepared)
    verdict = judge_run(trainer, config, prepared)
    metrics.update(learned=verdict.learned, verdict=verdict.message)
    metrics["timing"] = timing(estimate, time.time() - (jobs.get(spec.job_id).started_at or started), resume)
    folder = write_adapter(trainer, spec, config, files, prepared, metrics, tokenizer)
    log.info("adapter saved to %s after %.0f s", folder, time.time() - started)
    (log.info if verdict.learned else log.warning)("%s", verdict.message)
    took = timing_text(metrics["timing"])
    log.info("%s", took)
    return Outcome("completed", f"Done: adapter {folder.name} saved. {took} {verdict.message}",
                   {"adapter": folder.name, "adapter_path": str(folder), "global_step": step, "max_steps": total,
                    "metrics": metrics})


def _facts(config: TrainingConfig, prepared: Prepared, steps: int, history: list[dict[str, Any]] = ()) -> RunFacts:
    return RunFacts(steps=steps, learning_rate=config.learning_rate, tokens=prepared.tokens,
                    trained_tokens=prepared.trained_tokens,
                    eval_losses=tuple(float(h["eval_loss"]) for h in history if "eval_loss" in h),
                    margins=tuple(float(h["rewards/margins"]) for h in history if "rewards/margins" in h))


def _warn_before(config: TrainingConfig, prepared: Prepared) -> None:
    """Say up front what will likely keep the loss from falling, so the person need not wait for the end."""
    if prepared.cut_rows:
        log.warning("%d training row(s) lose every trained token at max length %d and are skipped",
                    prepared.cut_rows, config.max_length)
    causes = setting_causes(_facts(config, prepared, planned_steps(config, len(prepared.train))))
    if causes:
        log.warning("the loss may not fall: %s", "; ".join(causes))


def judge_run(trainer, config: TrainingConfig, prepared: Prepared) -> Verdict:
    history = trainer.state.log_history
    losses = [float(h["loss"]) for h in history if "loss" in h]
    return judge(losses, _facts(config, prepared, trainer.state.global_step, history))
