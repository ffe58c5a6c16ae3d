"""Hybrid query latency over every indexed chunk: Weaviate's hybrid search against hybrid rebuilt in Python.

    python -m bench.retrieval [--data-dir DIR] [--queries N]

Index: all PDFs of ../shared/pdfs that have a text layer, ingested by the real job into one collection
(kept in --data-dir, default ~/.cache/lorag/bench/retrieval, so a second run skips ingestion).
Lorag: studio.rag.search end to end (query embedding + BM25 and vector fused inside Weaviate), p50/p95 in
ms, and its parts: the query embedding, and Weaviate's hybrid query alone. Baseline (what document-chat tools
without a hybrid store do per query), given the same query vector: fetch every chunk with its vector, BM25
over them in Python, cosine in numpy, relative-score fusion, top k. The retrieval parts are compared.
Queries: sentences taken from indexed chunks (a known right answer) and short questions.

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from bench._common import ROOT, SHARED  # noqa: E402,F401  (sets the quiet offline environment)

SKIP = {"libreoffice-writer-password.pdf", "imagemagick-images.pdf"}  # no text without a password / OCR
QUESTIONS = ["How many tokens was Qwen3 pre-trained on?", "What is the thinking budget?",
             "Which benchmarks measure coding ability?", "Wie wird die Topologie definiert?",
             "What does the multicolumn layout look like?", "Here's to the crazy ones",
             "long-context training stage", "reinforcement learning reward system", "Lorem ipsum dolor sit amet"]
COLLECTION = "bench-all"
WORD = re.compile(r"\w+")

log = logging.getLogger("bench.retrieval")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ensure_index(studio) -> int:
    rag = studio.rag
    if COLLECTION not in {c.name for c in rag.list_collections()}:
        rag.create_collection(COLLECTION)
    pdfs = sorted(p for p in (SHARED / "pdfs").glob("*.pdf") if p.name not in SKIP)
    job = studio.jobs.wait(rag.ingest(COLLECTION, pdfs).id, 3600)
    for entry in job.result["files"]:
        log.info("%s: %s (%s chunks) %s", entry["name"], entry["status"], entry["chunks"], entry["error"])
    return rag.count(COLLECTION)


def make_queries(studio, n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = [d for d in studio.rag.documents(COLLECTION) if d.status == "indexed"]
    index = studio.rag.index_of(studio.rag.collection(COLLECTION))
    texts = [o.properties["text"] for o in index._collection.iterator(return_properties=["text"])]
    sentences = [s.strip() for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if 40 <= len(s.strip()) <= 160]
    picked = rng.sample(sentences, min(len(sentences), max(0, n - len(QUESTIONS))))
    log.info("%d documents, %d chunks, %d candidate sentences", len(docs), len(texts), len(sentences))
    return (QUESTIONS + picked)[:n]


# --- the baseline: hybrid rebuilt in Python per query ----------------------------------------------------
def bm25_scores(query: str, texts: list[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    docs = [Counter(w.lower() for w in WORD.findall(t)) for t in texts]
    lengths = [sum(d.values()) for d in docs]
    avg = sum(lengths) / max(len(lengths), 1)
    terms = [w.lower() for w in WORD.findall(query)]
    df = {t: sum(1 for d in docs if t in d) for t in set(terms)}
    n = len(docs)
    scores = []
    for d, length in zip(docs, lengths, strict=True):
        s = 0.0
        for t in terms:
            if d[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * d[t] * (k1 + 1) / (d[t] + k1 * (1 - b + b * length / avg))
        scores.append(s)
    return scores


def normalise(scores):
    lo, hi = min(scores), max(scores)
    return [(s - lo) / (hi - lo) if hi > lo else 0.0 for s in scores]


def python_hybrid(index, query: str, vector: list[float], k: int, alpha: float) -> list[str]:
    import numpy as np

    objects = list(index._collection.iterator(include_vector=True, return_properties=["text"]))
    texts = [o.properties["text"] for o in objects]
    matrix = np.array([o.vector["default"] for o in objects], dtype=np.float32)
    qvec = np.array(vector, dtype=np.float32)
    cosine = (matrix @ qvec) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(qvec) + 1e-9)
    fused = [alpha * v + (1 - alpha) * b for v, b in zip(normalise(cosine.tolist()),
                                                          normalise(bm25_scores(query, texts)), strict=True)]
    order = sorted(range(len(objects)), key=lambda i: -fused[i])[:k]
    return [str(objects[i].uuid) for i in order]


def timed(fn, queries: list[str]) -> tuple[list[float], list]:
    times, results = [], []
    for q in queries:
        started = time.perf_counter()
        results.append(fn(q))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def stats(ms: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 0.95), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("LORAG_HOME", Path.home() / ".cache" / "lorag"))
                        / "bench" / "retrieval")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--baseline-queries", type=int, default=20, help="the Python baseline is slow")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=0.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "weaviate", "engine.weaviate.server", "pikepdf", "pypdf", "engine.rag.ingest"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    sys.path.insert(0, str(ROOT))
    from engine.settings import Settings
    from engine.studio import Studio

    studio = Studio(Settings(data_dir=args.data_dir))
    studio.start()
    try:
        chunks = ensure_index(studio)
        queries = make_queries(studio, args.queries)
        rag = studio.rag
        current = rag.collection(COLLECTION)
        embedder = rag.embedders.get(current.index.model)
        rag.search(COLLECTION, "warm-up", k=args.k)  # model and connection warm
        log.info("Lorag hybrid search: %d queries over %d chunks", len(queries), chunks)
        ours_ms, ours = timed(lambda q: rag.search(COLLECTION, q, k=args.k, alpha=args.alpha), queries)
        vectors = {}
        embed_ms, _ = timed(lambda q: vectors.setdefault(q, embedder.encode([q], query=True)[0]), queries)
        index = rag.index_of(current)
        weaviate_ms, _ = timed(lambda q: index.hybrid(q, vectors[q], args.k, args.alpha), queries)
        few = queries[:args.baseline_queries]
        log.info("baseline (hybrid rebuilt in Python per query): %d queries", len(few))
        base_ms, base = timed(lambda q: python_hybrid(index, q, vectors[q], args.k, args.alpha), few)
        overlap = statistics.fmean(len({h.chunk_id for h in ours[i]} & set(base[i])) / args.k for i in range(len(few)))
    finally:
        studio.close()
    result = {"benchmark": "retrieval", "chunks": chunks, "queries": len(queries), "k": args.k, "alpha": args.alpha,
              "lorag_search_end_to_end": stats(ours_ms), "query_embedding": stats(embed_ms),
              "lorag_hybrid_in_weaviate": stats(weaviate_ms), "baseline_hybrid_in_python": stats(base_ms),
              "retrieval_p50_speedup_vs_baseline": round(statistics.median(base_ms)
                                                         / statistics.median(weaviate_ms), 2),
              "top_k_overlap_with_baseline": round(overlap, 3)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
