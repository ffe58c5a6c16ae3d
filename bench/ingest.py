"""Ingestion speed: Lorag's pipeline against a plain baseline, same embedder, same Weaviate, same run.

    python -m bench.ingest [--pdf PATH ...] [--embedding-model PRESET ...] [--keep DIR]

Lorag: the real ingestion job (PDFium text page by page, chunk_by_title within pages, batched embedding with the
collection's model and backend, Weaviate batch), each stage timed by the job itself; once per embedding preset
given (default: the default preset; all-minilm-l6-v2-int8 is the same model on onnxruntime int8).
Baseline: pypdf text + a fixed 1000/200-character splitter + the same model on sentence-transformers (torch fp32)
+ the same Weaviate.
Default PDFs: the 117-page GeoTopo thesis and the Qwen3 technical report (../shared/pdfs).

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, SHARED, plain_sentence_transformer  # noqa: E402,F401  (quiet offline env)

DEFAULT_PDFS = ["GeoTopo-komprimiert.pdf", "Qwen3_Technical_Report.pdf"]
SPLIT_SIZE, SPLIT_OVERLAP = 1000, 200

log = logging.getLogger("bench.ingest")


def default_embedding_model() -> str:
    from engine.rag.config import embedding_presets

    return next(name for name, preset in embedding_presets().items() if preset.default)


def fixed_splitter(text: str, size: int = SPLIT_SIZE, overlap: int = SPLIT_OVERLAP) -> list[str]:
    step = size - overlap
    return [text[i:i + size] for i in range(0, max(len(text) - overlap, 1), step) if text[i:i + size].strip()]


def baseline(pdf: Path, embedder, client, batch: int) -> dict:
    """pypdf + fixed splitter + the same embedder + the same Weaviate (its own collection)."""
    from pypdf import PdfReader

    from engine.rag.index import ChunkIndex, chunk_uuid
    from engine.rag.uploads import sha256_file

    timings = {}
    started = time.perf_counter()
    reader = PdfReader(str(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    pages = len(reader.pages)
    timings["parse_s"] = time.perf_counter() - started

    started = time.perf_counter()
    chunks = fixed_splitter(text)
    timings["chunk_s"] = time.perf_counter() - started

    started = time.perf_counter()  # the plain way: one encode call over all chunks (LangChain's embed_documents)
    vectors = embedder.encode(chunks, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
    timings["embed_s"] = time.perf_counter() - started

    started = time.perf_counter()
    index = ChunkIndex(client, "Baseline_" + pdf.stem.replace("-", "_").replace(".", "_"))
    index.drop()
    index.create()
    sha = sha256_file(pdf)
    report = index.insert([{"uuid": chunk_uuid(sha, i, "baseline"), "vector": v.tolist(),
                            "properties": {"text": c, "document_id": sha[:20], "filename": pdf.name, "section": "",
                                           "pages": [], "chunk_index": i, "element_types": [],
                                           "embedding_model": "baseline", "html": ""}}
                           for i, (c, v) in enumerate(zip(chunks, vectors, strict=True))], batch_size=128)
    timings["store_s"] = time.perf_counter() - started
    assert not report.failed, report.failed
    return _summary(pages, len(chunks), timings)


def lorag(studio, pdf: Path, model: str) -> dict:
    name = f"bench-{model}-" + pdf.stem.lower().replace("_", "-")[:30]
    studio.rag.create_collection(name, embedding_model=model)
    started = time.perf_counter()
    job = studio.jobs.wait(studio.rag.ingest(name, [pdf]).id, 3600)
    wall = time.perf_counter() - started
    entry = job.result["files"][0]
    if entry["status"] != "indexed":
        raise SystemExit(f"{pdf.name}: {entry['status']}: {entry['error']}")
    timings = {"parse_chunk_s": entry["timings"]["parse_s"], "embed_s": entry["timings"]["embed_s"],
               "store_s": entry["timings"]["store_s"]}
    out = _summary(entry["pages"], entry["chunks"], timings)
    out["job_wall_s"] = round(wall, 2)
    out["chunks_with_pages"] = entry["chunks"]
    return out


def _summary(pages: int, chunks: int, timings: dict) -> dict:
    total = sum(timings.values())
    return {"pages": pages, "chunks": chunks, **{k: round(v, 3) for k, v in timings.items()},
            "total_s": round(total, 3), "pages_per_s": round(pages / total, 2),
            "chunks_per_s": round(chunks / total, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", action="append", type=Path, help="PDF to ingest (repeatable)")
    parser.add_argument("--embedding-model", action="append", help="Lorag's embedding preset (repeatable)")
    parser.add_argument("--keep", type=Path, help="data folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "weaviate", "engine.weaviate.server", "pikepdf", "pypdf"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    pdfs = args.pdf or [SHARED / "pdfs" / name for name in DEFAULT_PDFS]
    missing = [str(p) for p in pdfs if not p.exists()]
    if missing:
        raise SystemExit(f"missing PDFs: {missing}")

    sys.path.insert(0, str(ROOT))
    from engine.settings import Settings
    from engine.studio import Studio

    data = args.keep or Path(tempfile.mkdtemp(prefix="lorag-bench-ingest-")) / "data"
    studio = Studio(Settings(data_dir=data))
    studio.start()
    results = {}
    try:
        rag = studio.rag
        models = args.embedding_model or [default_embedding_model()]
        for model in models:
            rag.embedders.get(model).encode(["warm-up"])  # model load is not part of either pipeline's time
        plain = plain_sentence_transformer(rag.embedders.get(models[0]))
        plain.encode(["warm-up"])
        for pdf in pdfs:
            log.info("%s: baseline (pypdf + fixed 1000/200 splitter)", pdf.name)
            base = baseline(pdf, plain, rag.clients.get(), rag.defaults.embed_batch_size)
            log.info("%s: %s", pdf.name, base)
            results[pdf.name] = {"baseline": base}
            for model in models:
                log.info("%s: Lorag pipeline, %s", pdf.name, model)
                ours = lorag(studio, pdf, model)
                log.info("%s: %s", pdf.name, ours)
                results[pdf.name][model] = {
                    "lorag": ours, "pages_per_s_ratio": round(ours["pages_per_s"] / base["pages_per_s"], 3),
                    "chunks_per_s_ratio": round(ours["chunks_per_s"] / base["chunks_per_s"], 3)}
    finally:
        studio.close()
        if not args.keep:
            shutil.rmtree(data.parent, ignore_errors=True)
    summary = {"benchmark": "ingest", "embedding_models": models, "cpu_threads": os.cpu_count(),
               "load_average_at_end": os.getloadavg()[0],
               "baseline": f"pypdf + fixed {SPLIT_SIZE}/{SPLIT_OVERLAP} splitter + the same model on "
                           "sentence-transformers (torch fp32) + same Weaviate",
               "documents": results}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
