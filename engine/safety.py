"""Names and paths that come from people: validated so nothing is written outside the data folder."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from engine.errors import LoragError, Phrase

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# What a name names, inside a message ("The adapter name is empty.").
NAME = Phrase("name", "error.names.name")
ADAPTER_NAME = Phrase("adapter name", "error.names.adapter")
COLLECTION_NAME = Phrase("collection name", "error.names.collection")
MODEL_NAME = Phrase("model name", "error.names.model")
RECIPE_NAME = Phrase("recipe name", "error.names.recipe")


def validate_name(name: str, what: str = NAME) -> str:
    """An adapter / collection / job name: letters, digits, '.', '_', '-'; 1-64 characters; not '.' or '..'."""
    name = (name or "").strip()
    if not name:
        raise LoragError(f"The {what} is empty.", key="names.empty", params={"what": what})
    if not NAME_RE.match(name) or name in {".", ".."} or ".." in name:
        raise LoragError(f"The {what} {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit.",
                         key="names.not_allowed", params={"what": what, "name": name})
    return name


def safe_filename(name: str) -> str:
    """The last component of an uploaded file's name, without control characters or path parts."""
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not base:
        raise LoragError(f"The file name {name!r} is not usable.", key="names.bad_filename", params={"name": name})
    return base[:200]


def inside(base: Path, *parts: str) -> Path:
    """base/parts, refusing anything that resolves outside `base` (traversal, absolute parts, links)."""
    root = Path(base).resolve()
    target = root.joinpath(*parts).resolve()
    if target != root and root not in target.parents:
        raise LoragError(f"The path {'/'.join(parts)!r} leaves the data folder.",
                         key="names.path_outside", params={"path": '/'.join(parts)})
    return target
