"""Benchmarks: `python -m bench.<name>` from the repo root; progress on stderr, one JSON line last on stdout."""
