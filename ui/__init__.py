"""Lorag's Gradio UI: one module per tab, talking to the engine only through engine.studio.Studio."""
