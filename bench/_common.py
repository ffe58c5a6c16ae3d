"""Shared set-up for the benchmarks: quiet offline environment, one torch thread, the demo model on disk."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                     "TOKENIZERS_PARALLELISM": "false", "DO_NOT_TRACK": "1", "SCARF_NO_ANALYTICS": "true",
                     "UNSTRUCTURED_DISABLE_NOTICE": "1"}.items():
    os.environ.setdefault(_key, _value)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LORAG_SHARED_DIR", ROOT.parent / "shared"))


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def setup_torch(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def generation_args(description: str) -> argparse.Namespace:
    """--rounds, --new-tokens, --threads for the generation benchmarks; torch set to that many threads."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    setup_torch(args.threads)
    return args


def demo_models_dir() -> Path:
    """A models folder holding the converted demo model (converted once per machine, cached under LORAG_HOME)."""
    from engine.models.demo import import_demo_model

    cache = Path(os.environ.get("LORAG_HOME", Path.home() / ".cache" / "lorag")) / "test-models"
    import_demo_model(cache)
    return cache


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, sort_keys=False))


def plain_sentence_transformer(embedder: Any) -> Any:
    """The baseline's embedder: Lorag's model folder run the plain way (sentence-transformers on torch, fp32),
    whatever backend Lorag itself runs it on."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedder.spec.folder), device="cpu", local_files_only=True)
