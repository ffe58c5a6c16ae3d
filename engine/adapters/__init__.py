"""LoRA adapters: the registry on disk (data/adapters/<name>/), hot-swap on the loaded base, merge/export."""
