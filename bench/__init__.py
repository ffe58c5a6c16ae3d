"""Benchmarks: `python -m bench.<name>` from the repo root; progress on stderr, one JSON object as the last line."""
