"""Benchmarks: python -m bench.<name>; progress on stderr, one JSON object as the last stdout line."""
