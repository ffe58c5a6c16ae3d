"""bench.gpu runs: `python -m bench.gpu --tiny --quick` (tiny Qwen2.5, Qwen3.5 dense and MoE on the CPU: chat path
against bare generate, adapter switch, our training worker against plain trl) prints one JSON object whose figures
are all there, positive and finite, and which says whether the DeltaNet kernels (fla, causal_conv1d) were importable.
No timing is held against a threshold: this is not a measurement."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.gpu import TINY
from tests.conftest import need_shared

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"tokens_per_s", "bare_tokens_per_s", "tokens_per_s_ratio", "ttft_ms", "bare_ttft_ms", "ttft_delta_ms"}
ADAPTERS = {"switch_resident_ms", "load_from_disk_ms"}
TRAINING = {"tokens_per_s", "trl_tokens_per_s", "ratio_vs_trl"}


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def test_bench_gpu_tiny_prints_its_figures(tmp_path):
    need_shared("fixtures", "qwen2-tokenizer")
    need_shared("datasets", "identity.json")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "bench.gpu", "--tiny", "--quick", "--work-dir", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])   # one JSON object, the last line of stdout
    assert result["benchmark"] == "gpu" and result["mode"] == "tiny" and result["quick"] is True
    assert set(result["models"]) == set(TINY)
    kernels = result["kernels"]   # whether Qwen3.5's DeltaNet kernels were there: a GPU run records both cases
    assert set(kernels) == {"fla", "causal_conv1d"}
    for entry in kernels.values():
        assert isinstance(entry["importable"], bool) and isinstance(entry["used_by_transformers"], bool), entry
        assert "version" in entry if entry["importable"] else entry["error"], entry
    for name, model in result["models"].items():
        assert positive(model["params"]) and model["device"] == "cpu", name
        assert set(model["chat"]) == CHAT, name
        assert all(positive(v) for k, v in model["chat"].items() if k != "ttft_delta_ms"), (name, model["chat"])
        assert math.isfinite(model["chat"]["ttft_delta_ms"]), name   # ours minus bare: either sign
        assert set(model["adapters"]) == ADAPTERS and all(map(positive, model["adapters"].values())), name
        assert set(model["training"]) == TRAINING and all(map(positive, model["training"].values())), name
    assert list(tmp_path.iterdir()) == []   # the models it built and its studios' folders are gone
