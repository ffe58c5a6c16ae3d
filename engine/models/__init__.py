"""Models: load Qwen (hub id, folder, GGUF), quantization, chat templates, generation."""
