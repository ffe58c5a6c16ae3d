"""Helpers for the tests: tiny models, the studio as a process, the browser."""
