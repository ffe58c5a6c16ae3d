"""Benchmarks: `python -m bench.<name>` from the repo root; progress on stderr, one JSON object last on stdout."""
