"""RAG or LoRA? One real evaluation matrix end to end on CPU, the way a person would make it in the studio:

    python -m bench.rag_or_lora [--pdf PATH] [--chunks 24] [--steps-epochs 3] [--keep DIR]

1. index a PDF (default: the Qwen3 technical report from ../shared/pdfs) into a collection;
2. the loaded SmolLM2-135M-Instruct writes one question/answer row per chunk ("Data from documents"), each with
   its chunk's file and pages as gold; the rows are split into a training dataset and a held-out evaluation set;
3. a LoRA adapter is trained on the training rows through the real training worker;
4. the matrix {base, the adapter} x {no documents, the collection} answers every held-out question.
Prints the results table and one JSON object (the table, the split, each step's time) as the last stdout line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, SHARED, say  # noqa: F401  (quiet offline env)

COLLECTION = "rag-or-lora"


def timed(steps: dict, name: str, started: float) -> None:
    steps[name] = round(time.perf_counter() - started, 1)
    say(f"{name}: {steps[name]} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=SHARED / "pdfs" / "Qwen3_Technical_Report.pdf")
    parser.add_argument("--chunks", type=int, default=24, help="chunks the model writes questions from")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="data folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)
    from engine.evaluate.report import format_table
    from engine.models.demo import import_demo_model
    from engine.settings import Settings
    from engine.studio import Studio
    from engine.training.config import TrainingConfig

    data = args.keep or Path(tempfile.mkdtemp(prefix="lorag-bench-rag-or-lora-")) / "data"
    studio = Studio(Settings(data_dir=data))
    studio.start()
    steps: dict[str, float] = {}
    try:
        started = time.perf_counter()
        base = import_demo_model(Path.home() / ".cache" / "lorag" / "test-models")
        studio.models.load(str(base))
        studio.rag.create_collection(COLLECTION)
        studio.jobs.wait(studio.rag.ingest(COLLECTION, [args.pdf]).id, 3600)
        timed(steps, "load_and_index", started)

        started = time.perf_counter()
        job = studio.evaluation.wait(studio.evaluation.start_generation(COLLECTION, max_chunks=args.chunks).id, 7200)
        rows = job.result["rows"]
        stored = studio.evaluation.save_generated(rows, "qwen3-generated", mode="split", holdout=0.34)
        timed(steps, "generate_rows", started)

        started = time.perf_counter()
        config = studio.training.default_config("knowledge").merged(dict(
            base_model=str(base), adapter_name="qwen3-generated", dataset=stored["training"], epochs=args.epochs,
            batch_size=4, learning_rate=2e-3, lora_rank=16, lora_alpha=32, max_length=256, save_steps=1000))
        trained = studio.training.wait(studio.training.start(TrainingConfig.from_dict(config.to_dict())).id, 7200)
        timed(steps, "train_adapter", started)

        started = time.perf_counter()
        run = studio.evaluation.wait(studio.evaluation.start({
            "set": stored["eval"], "base_model": str(base), "adapters": ["", "qwen3-generated"],
            "collections": ["", COLLECTION], "max_new_tokens": 64}).id, 7200)
        timed(steps, "matrix", started)
        results = studio.evaluation.results(run.id)
        print(format_table(results.rows))
        out = {"benchmark": "rag_or_lora", "pdf": args.pdf.name, "rows_generated": len(rows),
               "training": {"status": trained.status, "metrics": (trained.result or {}).get("metrics")},
               "run_status": run.status, "steps_s": steps, "table": [r.to_dict() for r in results.rows],
               "examples": results.answers[:8]}
    finally:
        studio.close()
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
