"""Small modules: none in engine/ or ui/ over 400 lines (a module per idea)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400
# Over the limit today, each to be split by the change that owns it (a stale entry fails).
KNOWN_LONG: set[str] = set()


def test_no_module_over_400_lines():
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
               for package in ("engine", "ui") for p in (ROOT / package).rglob("*.py")}
    long = {path for path, lines in lengths.items() if lines > MAX_LINES}
    assert long == KNOWN_LONG, {path: lengths[path] for path in long ^ KNOWN_LONG}
