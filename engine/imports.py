"""Heavy libraries imported once, under one lock.

transformers' lazy module is not thread-safe on its first import: two threads importing it at once (a page
loading a model while an ingestion job loads its embedder) got "cannot import name AutoConfig". Every first
import of the ML stack, from any thread, goes through `import_heavy`.
"""

from __future__ import annotations

import importlib
import threading

_LOCK = threading.RLock()
ML_STACK = ("torch", "transformers")


def import_heavy(*modules: str) -> None:
    """Import the ML stack and then `modules` (e.g. 'sentence_transformers'), serialised across threads."""
    with _LOCK:
        for name in (*ML_STACK, *modules):
            importlib.import_module(name)
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: F401  (resolve lazies)
