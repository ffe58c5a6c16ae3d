"""`option(default, help)`: a dataclass field that carries its help text (trl's SFTConfig style).

Help texts feed flags, forms and docs; mutable defaults (lists, dicts) get a fresh copy per instance.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def option(default: Any, help: str, **metadata: Any) -> Any:
    meta = {"help": help, **metadata}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)
