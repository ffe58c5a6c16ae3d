"""Fine-tuning LoRA adapters: dataset formats and validation, preview, config and recipes, and the worker process.

The studio side is `service.TrainingService` (Studio.training); the worker is `python -m engine.training.worker`.
"""
