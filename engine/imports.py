"""Heavy libraries imported once, under one lock.

transformers' lazy module is not thread-safe on its first import: two threads importing it at once (a page
loading a model while an ingestion job loads its embedder) got "cannot import name AutoConfig". Every first
import of the ML stack, from any thread, goes through `import_heavy`.

torch's intra-op threads are capped at one less than the CPU cores (unless OMP_NUM_THREADS says otherwise): the
studio's own threads and Weaviate share the machine, and a parallel region waits for its slowest thread. On two
busy cores a one-line query took 1960 ms to embed with two threads and 132 ms with one.
"""

from __future__ import annotations

import importlib
import os
import threading

_LOCK = threading.RLock()
_capped = False
ML_STACK = ("torch", "transformers")


def import_heavy(*modules: str) -> None:
    """Import the ML stack and then `modules` (e.g. 'sentence_transformers'), serialised across threads."""
    with _LOCK:
        for name in (*ML_STACK, *modules):
            importlib.import_module(name)
        _cap_torch_threads()
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: F401  (resolve lazies)


def _cap_torch_threads() -> None:
    global _capped
    if _capped:
        return
    _capped = True
    if not os.environ.get("OMP_NUM_THREADS"):
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
