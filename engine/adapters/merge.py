"""Merge an adapter into its base and save the result as a normal model folder.

The merge happens on a fresh, unquantized copy of the base read from its folder, never on the model being
chatted with: that one stays clean (no merged weights left behind, adapters still swappable), and a quantized
base would make the merged weights lossy. The folder gets the tokenizer and its chat template, so it loads
and chats like any other model, and a lorag-merged.json saying what went into it.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from engine.errors import LoragError

log = logging.getLogger(__name__)


PARTIAL = ".{name}.partial"


def partial_folder(dest: Path) -> Path:
    """Where a merge writes before renaming the finished folder into place (a crash leaves only this behind)."""
    return dest.with_name(PARTIAL.format(name=dest.name))


def drop_partial_merges(models_dir: Path) -> list[str]:
    """At start-up: delete the half-written folders of merges a stopped studio left (they hold a config.json, so
    they would pass for models). Returns their names."""
    folder = Path(models_dir)
    found = sorted(p for p in folder.glob(PARTIAL.format(name="*")) if p.is_dir()) if folder.is_dir() else []
    for path in found:
        log.warning("deleting %s: a merge stopped while writing it", path)
        shutil.rmtree(path, ignore_errors=True)
    return [p.name for p in found]


def merge_into_fresh_base(base_folder: Path, adapter_folder: Path, dest: Path,
                          progress: Callable[[float, str], Any] | None = None) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    report = progress or (lambda fraction, message: None)
    dest = Path(dest)
    partial = partial_folder(dest)
    shutil.rmtree(partial, ignore_errors=True)
    try:
        report(0.05, f"loading a fresh copy of the base from {base_folder}")
        tokenizer = AutoTokenizer.from_pretrained(base_folder, trust_remote_code=False)
        base = AutoModelForCausalLM.from_pretrained(base_folder, dtype="auto", trust_remote_code=False)
        report(0.4, f"merging {adapter_folder.name}")
        merged = PeftModel.from_pretrained(base, str(adapter_folder)).merge_and_unload()
        report(0.7, f"saving into {dest}")
        merged.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        (partial / "lorag-merged.json").write_text(json.dumps(
            {"base": str(base_folder), "adapter": adapter_folder.name, "merged_at": time.time()}, indent=2))
        partial.rename(dest)
    except MemoryError as exc:
        raise LoragError("Out of memory while merging: the merge needs the full-precision base in RAM.",
                         key="adapters.merge_out_of_memory") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    report(1.0, f"merged model saved in {dest}")
    log.info("merged %s into %s -> %s", adapter_folder.name, base_folder, dest)
    return dest
