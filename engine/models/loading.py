"""Where a model comes from and how it is put in memory.

A source is one of: a model preset name (presets/models), a hub id ("Qwen/Qwen3-0.6B", downloaded into
data/models/hub/Qwen--Qwen3-0.6B, resumable), a local model folder, or a .gguf file (converted once into
data/models/<stem>, like the demo model). Loading options: device (auto/cuda/cpu), dtype (auto/bf16/fp16/fp32),
quantization (none / 8bit / 4bit nf4 with double quantization, through BitsAndBytesConfig; bitsandbytes 0.50
also runs both on the CPU) and the attention implementation. trust_remote_code is always off.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from engine.errors import LoragError
from engine.fields import option
from engine.imports import import_heavy
from engine.models.presets import ModelPreset, model_preset, preset_for_hub_id

log = logging.getLogger(__name__)

DEVICES = ("auto", "cuda", "cpu")
DTYPES = ("auto", "bf16", "fp16", "fp32")
QUANTIZATIONS = ("none", "8bit", "4bit")
ATTENTIONS = ("auto", "sdpa", "eager", "flash_attention_2")
HUB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
DOWNLOAD_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.jinja", "*.model", "*.tiktoken", "tokenizer*"]
def import_stack() -> None:
    """torch and transformers' auto classes, imported once under engine.imports' lock."""
    import_heavy()


@dataclass
class LoadOptions:
    """How to load a model. Every field has a safe default."""

    source: str = option("", "Preset name, hub id (owner/name), local model folder or .gguf file.")
    device: str = option("auto", "auto (GPU when there is one), cuda or cpu.")
    dtype: str = option("auto", "auto (bf16 on a GPU that supports it, else fp16; fp32 on CPU), bf16, fp16, fp32.")
    quantization: str = option("none", "none, 8bit or 4bit (NF4 with double quantization) via bitsandbytes.")
    attention: str = option("auto", "Attention implementation: auto, sdpa, eager or flash_attention_2.")
    token: str = option("", "Hugging Face token for gated repositories (used for the download, never stored).")

    def validate(self) -> "LoadOptions":
        for name, allowed in (("device", DEVICES), ("dtype", DTYPES), ("quantization", QUANTIZATIONS),
                              ("attention", ATTENTIONS)):
            value = getattr(self, name)
            if value not in allowed:
                raise LoragError(f"Unknown {name} {value!r}: choose one of {', '.join(allowed)}.",
                                 key="models.unknown_option",
                                 params={"name": name, "value": value, "allowed": ', '.join(allowed)})
        if not (self.source or "").strip():
            raise LoragError("Say which model to load: a preset, a hub id, a folder or a .gguf file.",
                             key="models.no_source")
        self.source = self.source.strip()
        return self

    def public(self) -> dict[str, Any]:
        """The options without the token (for logs, jobs and the status bar)."""
        return {k: v for k, v in asdict(self).items() if k != "token"}


@dataclass
class ResolvedSource:
    kind: str                     # demo | hub | folder | gguf
    name: str                     # what the status bar shows
    source: str                   # what the person gave (hub id, path)
    folder: Path | None = None    # local folder once available
    hub_id: str = ""
    preset: ModelPreset | None = None

    @property
    def ready(self) -> bool:
        """True when the weights are on disk (a hub model not downloaded yet is not)."""
        return self.folder is not None and is_model_folder(self.folder)

    @property
    def base_label(self) -> str:
        """How adapters name their base: the hub id, the demo's name, or the folder / file given."""
        return self.hub_id or (self.name if self.kind == "demo" else self.source)


def hub_folder(models_dir: Path, hub_id: str) -> Path:
    return Path(models_dir) / "hub" / hub_id.replace("/", "--")


def is_model_folder(folder: Path) -> bool:
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        return False
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = set(json.loads(index.read_text()).get("weight_map", {}).values())
        return all((folder / shard).is_file() for shard in shards)
    return any(folder.glob("*.safetensors"))


def resolve_source(source: str, models_dir: Path) -> ResolvedSource:
    """What `source` names, without loading or downloading anything (the demo is converted on first use)."""
    source = (source or "").strip()
    preset = model_preset(source)
    if preset is not None and preset.demo:
        from engine.models.demo import DEMO_NAME

        return ResolvedSource("demo", DEMO_NAME, source, Path(models_dir) / DEMO_NAME, preset=preset)
    if preset is not None:
        source = preset.hub_id
    path = Path(source).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise LoragError(f"There is no GGUF file at {path}.", key="models.no_gguf", params={"path": path})
        return ResolvedSource("gguf", path.stem, str(path), Path(models_dir) / path.stem)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise LoragError(f"{path} is not a model folder (it has no config.json).",
                             hint="Pick the folder that holds config.json and the .safetensors files.",
                             key="models.not_model_folder", hint_key="models.not_model_folder_hint",
                             params={"path": path})
        return ResolvedSource("folder", path.name, str(path.resolve()), path.resolve(),
                              preset=_preset_from_config(path))
    if HUB_ID_RE.match(source) and not source.startswith((".", "/")):
        return ResolvedSource("hub", source.split("/")[-1], source, hub_folder(models_dir, source), hub_id=source,
                              preset=preset or preset_for_hub_id(source))
    raise LoragError(f"{source!r} is neither a preset, a hub id (owner/name), a model folder nor a .gguf file.",
                     key="models.unknown_source", params={"source": source})


def _preset_from_config(folder: Path) -> ModelPreset | None:
    try:
        name = json.loads((folder / "config.json").read_text()).get("_name_or_path", "")
    except (OSError, ValueError):
        return None
    return preset_for_hub_id(name) if HUB_ID_RE.match(name or "") else None


def prepare_folder(resolved: ResolvedSource) -> Path:
    """Make the weights available locally (demo/GGUF conversion); hub models must be downloaded first."""
    import_stack()
    if resolved.kind == "demo":
        from engine.models.demo import import_demo_model

        return import_demo_model(resolved.folder.parent)
    if resolved.kind == "gguf":
        from engine.models.demo import import_gguf

        try:
            return import_gguf(Path(resolved.source), resolved.folder)
        except LoragError:
            raise
        except Exception as exc:  # noqa: BLE001 - a GGUF we cannot read
            raise LoragError(f"Could not convert the GGUF file {resolved.source}: {exc}",
                             key="models.gguf_conversion_failed",
                             params={"source": resolved.source, "exc": exc}) from exc
    if resolved.kind == "hub" and not resolved.ready:
        raise LoragError(f"{resolved.hub_id} is not downloaded yet.", hint="Download it first (Models tab).",
                         key="models.not_downloaded", hint_key="models.not_downloaded_hint",
                         params={"hub_id": resolved.hub_id})
    return resolved.folder


# --- downloads --------------------------------------------------------------------------------------------
def download(hub_id: str, dest: Path, token: str = "",
             progress: Callable[[float, str], None] | None = None) -> Path:
    """Download a hub model's safetensors, config and tokenizer into `dest` (resumes a partial download)."""
    from huggingface_hub import snapshot_download
    from tqdm.auto import tqdm

    report = progress or (lambda fraction, message: None)

    class _Progress(tqdm):  # only the byte counter of snapshot_download's aggregated bar matters
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = False
            kwargs["file"] = _NullFile()
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            if self.unit == "B" and self.total:
                report(min(1.0, self.n / self.total), f"{self.n / 1e9:.2f} of {self.total / 1e9:.2f} GB")
            return shown

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(hub_id, local_dir=dest, token=token or None, allow_patterns=DOWNLOAD_PATTERNS,
                          tqdm_class=_Progress)
    except Exception as exc:  # noqa: BLE001 - turned into a message for the person
        raise _download_error(hub_id, exc) from exc
    if not is_model_folder(dest):
        raise LoragError(f"{hub_id} has no safetensors weights; Lorag loads only safetensors models.",
                         key="models.no_safetensors", params={"hub_id": hub_id})
    return dest


class _NullFile:
    def write(self, *_: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def _download_error(hub_id: str, exc: Exception) -> LoragError:
    name = type(exc).__name__
    if name == "GatedRepoError":
        return LoragError(f"{hub_id} is gated: accept its licence on huggingface.co and give a token.",
                          key="models.gated", params={"hub_id": hub_id})
    if name in {"RepositoryNotFoundError", "RevisionNotFoundError"}:
        return LoragError(f"There is no model {hub_id!r} on the hub (or it is private: give a token).",
                          key="models.not_on_hub", params={"hub_id": hub_id})
    if name in {"LocalEntryNotFoundError", "OfflineModeIsEnabled"} or isinstance(exc, (ConnectionError, OSError)):
        return LoragError(f"Could not download {hub_id}: no connection to the Hugging Face hub ({exc}).",
                          hint="Check the network, or load a local folder or the offline demo model.",
                          key="models.hub_unreachable", hint_key="models.hub_unreachable_hint",
                          params={"hub_id": hub_id, "exc": exc})
    return LoragError(f"Downloading {hub_id} failed: {exc}",
                      key="models.download_failed", params={"hub_id": hub_id, "exc": exc})


# --- devices, dtypes, quantization ----------------------------------------------------------------------
def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise LoragError("No CUDA GPU is available here.", hint="Choose device auto or cpu.",
                         key="models.no_cuda", hint_key="models.no_cuda_hint")
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        if device == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]


def quantization_config(quantization: str, compute_dtype: Any):
    """BitsAndBytesConfig for 8bit / 4bit (NF4, double quantization), or None."""
    if quantization == "none":
        return None
    try:
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise LoragError("bitsandbytes is not installed, so 8-bit / 4-bit loading is unavailable.",
                         key="models.no_bitsandbytes") from exc
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def dtype_name(dtype: Any) -> str:
    return {"torch.bfloat16": "bf16", "torch.float16": "fp16", "torch.float32": "fp32"}.get(str(dtype), str(dtype))


def load_model(folder: Path, options: LoadOptions):
    """(model, tokenizer) from a local folder with the options; errors a person can cause become LoragError."""
    import_stack()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device)
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": False}
    quant = quantization_config(options.quantization, dtype)
    if quant is not None:
        kwargs["quantization_config"] = quant
    if options.attention != "auto":
        kwargs["attn_implementation"] = options.attention
    if device == "cuda":
        kwargs["device_map"] = "auto" if options.device == "auto" else {"": 0}
    elif quant is not None:
        kwargs["device_map"] = {"": "cpu"}
    _check_causal_lm(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except torch.OutOfMemoryError as exc:
        raise LoragError(f"Out of GPU memory while loading {folder.name}.",
                         hint="Try 4-bit or 8-bit quantization, or a smaller model.",
                         key="models.out_of_gpu_memory", hint_key="models.out_of_gpu_memory_hint",
                         params={"name": folder.name}) from exc
    except MemoryError as exc:
        raise LoragError(f"Out of memory while loading {folder.name}.",
                         hint="Try 4-bit quantization or a smaller model.",
                         key="models.out_of_memory", hint_key="models.out_of_memory_hint",
                         params={"name": folder.name}) from exc
    except ValueError as exc:
        if "Unrecognized configuration class" in str(exc) or "does not recognize this architecture" in str(exc):
            raise LoragError(f"{folder.name} is not a text-generation (causal LM) model that Lorag can load.",
                             key="models.not_causal_lm", params={"name": folder.name}) from exc
        raise LoragError(f"Could not load {folder.name}: {exc}",
                         key="models.load_failed", params={"name": folder.name, "exc": exc}) from exc
    except (OSError, ImportError) as exc:
        raise LoragError(f"Could not load {folder.name}: {exc}",
                         key="models.load_failed", params={"name": folder.name, "exc": exc}) from exc
    model.eval()
    if options.quantization == "4bit":
        _keep_4bit_weights_stable(model)
    _warm_up(model)
    return model, tokenizer


def _keep_4bit_weights_stable(model: Any) -> None:
    """bitsandbytes repacks 4-bit weights for its AVX512-BF16 CPU kernel on the first forward and unpacks them
    whenever a state_dict is taken (peft does when it loads an adapter); with double quantization each
    unpack/repack re-quantizes the scales, so the base would drift a little with every adapter load. The plain
    kernel keeps the base bit-for-bit stable, which hot-swapping promises."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def _warm_up(model: Any) -> None:
    """One tiny forward pass: bitsandbytes repacks 4-bit weights for the CPU kernel on the first call (which
    changes the numbers slightly), and the first request should not pay for lazy initialisation."""
    import torch

    device = next(model.parameters()).device
    with torch.inference_mode():
        model(input_ids=torch.zeros((1, 1), dtype=torch.long, device=device))


def _check_causal_lm(folder: Path) -> None:
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise LoragError(f"{folder.name} has no usable config.json: {exc}",
                         key="models.bad_config", params={"name": folder.name, "exc": exc}) from exc
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise LoragError(f"{folder.name} is a {config.model_type} model, not a text-generation (causal LM) model "
                         "that Lorag can chat with.",
                         key="models.not_chat_model", params={"name": folder.name, "model_type": config.model_type})


def download_job(jobs: Any, hub_id: str, dest: Path, token: str = "") -> Any:
    """A "download" job running `download` in a thread: progress, cancel between files, resumable."""
    job = jobs.create("download", f"Download {hub_id}", config={"hub_id": hub_id})

    def work(ctx: Any) -> dict[str, Any]:
        def progress(fraction: float, message: str) -> None:
            ctx.progress(fraction, message)
            ctx.check_cancel()

        ctx.log(f"downloading {hub_id} into {dest}")
        return {"folder": str(download(hub_id, dest, token=token, progress=progress)), "hub_id": hub_id}

    jobs.run_in_thread(job, work)
    return job
