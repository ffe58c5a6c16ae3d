"""Lorag's engine: all real work, usable headless. Never imports gradio."""
