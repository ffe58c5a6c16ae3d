"""Retrieval quality on long, similar documents: does a question find its gold page in one shared collection?

    python -m bench.retrieval_quality [--docs N] [--k 10] [--alpha A] [--keep DIR] [--embed-cache FILE]

Data: ../shared/reports-dev (27 annual and quarterly filings, 58 questions with gold pages; `--docs N` takes the
first N filings and their questions). Both pipelines see the same files and the same embedder (MiniLM):
- Lorag: the real ingestion job into one collection, then `studio.rag.search` as the Chat tab calls it.
- Baseline, the plain pipeline most peers ship: pypdf text, a fixed 1000/200-character splitter over the whole
  document (a chunk's pages are the pages its characters come from), MiniLM vectors, exact cosine top k.
A question counts as found at rank r when the r-th result is from the gold file and touches a gold page.
Printed: page hit@1/5/10 and MRR@10 over the shared collection, and the same with the search restricted to the
gold document. `--embed-cache` keeps vectors on disk (keyed by model and text), so a rerun embeds only text it
has not seen; it changes no result.

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, SHARED, plain_sentence_transformer, say  # noqa: F401  (quiet offline env)

DATA = SHARED / "reports-dev"
COLLECTION = "reports"
MODEL = "all-minilm-l6-v2"
SPLIT_SIZE, SPLIT_OVERLAP = 1000, 200
KS = (1, 5, 10)


def load_questions(docs: int | None) -> tuple[list[Path], list[dict]]:
    questions = [json.loads(line) for line in (DATA / "questions.jsonl").read_text().splitlines() if line.strip()]
    files = sorted({q["file"] for q in questions})[:docs or None]
    chosen = [q for q in questions if q["file"] in files]
    return [DATA / "pdfs" / name for name in files], chosen


def gold_pages(question: dict) -> set[tuple[str, int]]:
    return {(e["file"], int(e["page"])) for e in question["evidence"]}


def rank_of(results: list[tuple[str, list[int]]], gold: set[tuple[str, int]]) -> int | None:
    """1-based rank of the first result (file, pages) that touches a gold page."""
    for rank, (filename, pages) in enumerate(results, start=1):
        if any((filename, page) in gold for page in pages):
            return rank
    return None


def scores(ranks: list[int | None]) -> dict:
    n = max(len(ranks), 1)
    out = {f"hit@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in KS}
    out["mrr@10"] = round(sum(1 / r for r in ranks if r and r <= 10) / n, 3)
    out["questions"] = len(ranks)
    return out


# --- embedding cache (benchmark only) -----------------------------------------------------------------------
class VectorCache:
    """Vectors by (model, prefix, text) in SQLite, so reruns of the benchmark embed only new text."""

    def __init__(self, path: Path | None) -> None:
        self.db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, timeout=120)
        self.db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, vector TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS pypdf (k TEXT PRIMARY KEY, pages TEXT)")

    def wrap(self, model_key: str, encode):
        def cached(texts: list[str], *args, query: bool = False, **kwargs):
            keys = [hashlib.sha1(f"{model_key}|{query}|{t}".encode()).hexdigest() for t in texts]
            found = dict(self.db.execute(f"SELECT k, vector FROM v WHERE k IN ({','.join('?' * len(keys))})",
                                         keys).fetchall()) if keys else {}
            todo = [i for i, k in enumerate(keys) if k not in found]
            if todo:
                fresh = encode([texts[i] for i in todo], *args, query=query, **kwargs)
                for i, vector in zip(todo, fresh, strict=True):
                    found[keys[i]] = json.dumps([round(x, 6) for x in vector])
                self.db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)", [(keys[i], found[keys[i]]) for i in todo])
                self.db.commit()
            return [json.loads(found[k]) for k in keys]
        return cached


# --- the baseline ---------------------------------------------------------------------------------------------
def pypdf_pages(pdf: Path, cache: "VectorCache") -> list[str]:
    from pypdf import PdfReader

    key = hashlib.sha1(pdf.read_bytes()).hexdigest()
    found = cache.db.execute("SELECT pages FROM pypdf WHERE k = ?", (key,)).fetchone()
    if found:
        return json.loads(found[0])
    pages = [page.extract_text() or "" for page in PdfReader(str(pdf)).pages]
    cache.db.execute("INSERT OR REPLACE INTO pypdf VALUES (?, ?)", (key, json.dumps(pages)))
    cache.db.commit()
    return pages


def split_with_pages(pages: list[str]) -> list[tuple[str, list[int]]]:
    """The fixed splitter over the whole document; each chunk keeps the pages its characters come from."""
    text, starts = "", []
    for page in pages:
        starts.append(len(text))
        text += page + "\n"
    step = SPLIT_SIZE - SPLIT_OVERLAP
    out = []
    for begin in range(0, max(len(text) - SPLIT_OVERLAP, 1), step):
        piece = text[begin:begin + SPLIT_SIZE]
        if piece.strip():
            end = begin + len(piece)
            out.append((piece, [i + 1 for i, s in enumerate(starts) if s < end and
                                (i + 1 == len(starts) or starts[i + 1] > begin)]))
    return out


def run_baseline(pdfs: list[Path], questions: list[dict], encode, k: int, cache: VectorCache) -> dict:
    import numpy as np

    chunks: list[tuple[str, str, list[int]]] = []
    for pdf in pdfs:
        say(f"baseline: {pdf.name}")
        chunks += [(pdf.name, text, pages) for text, pages in split_with_pages(pypdf_pages(pdf, cache))]
    say(f"baseline: embedding {len(chunks)} chunks")
    texts = [c[1] for c in chunks]
    vectors = []
    for start in range(0, len(texts), 512):  # in slices, so that the cache keeps the progress of a long run
        vectors += encode(texts[start:start + 512])
        say(f"baseline: embedded {len(vectors)} of {len(texts)}")
    matrix = np.array(vectors, dtype=np.float32)
    query_vectors = np.array(encode([q["question"] for q in questions], query=True), dtype=np.float32)
    shared, restricted, distinct = [], [], []
    files = np.array([c[0] for c in chunks])
    for q, vector in zip(questions, query_vectors, strict=True):
        sims = matrix @ vector
        top = np.argsort(-sims)[:k]
        shared.append(rank_of([(chunks[i][0], chunks[i][2]) for i in top], gold_pages(q)))
        distinct.append(rank_of(new_pages_only([(chunks[i][0], chunks[i][2]) for i in np.argsort(-sims)[:4 * k]])[:k],
                                gold_pages(q)))
        own = np.where(files == q["file"])[0]
        top = own[np.argsort(-sims[own])[:k]]
        restricted.append(rank_of([(chunks[i][0], chunks[i][2]) for i in top], gold_pages(q)))
    return {"chunks": len(chunks), "shared_collection": scores(shared), "gold_document_only": scores(restricted),
            "shared_collection_distinct_pages": scores(distinct)}


def new_pages_only(results: list[tuple[str, list[int]]]) -> list[tuple[str, list[int]]]:
    """The results that show at least one page not shown above them (the baseline given Lorag's page rule)."""
    seen: set[tuple[str, int]] = set()
    out = []
    for filename, pages in results:
        if not {(filename, p) for p in pages} <= seen:
            out.append((filename, pages))
            seen |= {(filename, p) for p in pages}
    return out


def plain_encode(embedder, cache: "VectorCache"):
    """The baseline's encode: the same model on sentence-transformers (torch fp32), cached under the model's name."""
    model = plain_sentence_transformer(embedder)

    def encode(texts: list[str], query: bool = False) -> list[list[float]]:
        return model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False).tolist()

    return cache.wrap(MODEL, encode)


# --- Lorag ------------------------------------------------------------------------------------------------------
def collection_for(model: str) -> str:
    """One collection per embedding preset, so a kept data folder holds the runs of several."""
    return COLLECTION if model == MODEL else f"{COLLECTION}-{model}"


def run_lorag(studio, pdfs: list[Path], questions: list[dict], k: int, alphas: list[float | None],
              chunk_size: int | None, by_chunk: bool, boosts: list[float | None], model: str = MODEL,
              heading_boosts: tuple = (None,)) -> dict:
    rag, collection = studio.rag, collection_for(model)
    if collection not in {c.name for c in rag.list_collections()}:
        rag.create_collection(collection, embedding_model=model, chunk_size=chunk_size)
    started = time.perf_counter()
    job = studio.jobs.wait(rag.ingest(collection, pdfs).id, 6 * 3600)
    failed = [f"{f['name']}: {f['error']}" for f in job.result["files"] if f["status"] not in ("indexed", "skipped")]
    if failed:
        raise SystemExit(f"ingestion failed: {failed}")
    ingest_s = time.perf_counter() - started
    out = {"chunks": rag.count(collection), "ingest_s": round(ingest_s, 1),
           "chunk_size": rag.collection(collection).settings.chunk_size}
    for alpha, boost, heading, distinct_pages in [(a, b, h, d) for a in alphas for b in boosts for h in heading_boosts
                                                  for d in ([True, False] if by_chunk else [True])]:
        key = " ".join(part for part in ("" if alpha is None else f"alpha={alpha}",
                                         "" if boost is None else f"named_boost={boost}",
                                         "" if heading is None else f"heading_boost={heading}",
                                         "" if distinct_pages else "by chunk") if part) or "default"
        out[key] = search_scores(rag, collection, questions, k, alpha, distinct_pages, boost, heading)
        say(f"lorag {key}: {out[key]}")
    return out


def search_scores(rag, collection: str, questions: list[dict], k: int, alpha: float | None, distinct_pages: bool,
                  named_boost: float | None = None, heading_boost: float | None = None) -> dict:
    docs = {d.filename: d.id for d in rag.documents(collection)}
    shared, restricted = [], []
    started = time.perf_counter()
    for q in questions:
        hits = rag.search(collection, q["question"], k=k, alpha=alpha, distinct_pages=distinct_pages,
                          named_boost=named_boost, heading_boost=heading_boost)
        shared.append(rank_of([(h.filename, h.pages) for h in hits], gold_pages(q)))
        hits = rag.search(collection, q["question"], k=k, alpha=alpha, document_ids=[docs[q["file"]]],
                          distinct_pages=distinct_pages, named_boost=named_boost, heading_boost=heading_boost)
        restricted.append(rank_of([(h.filename, h.pages) for h in hits], gold_pages(q)))
    search_ms = (time.perf_counter() - started) * 1000 / max(2 * len(questions), 1)
    return {"search_ms_mean": round(search_ms, 1), "shared_collection": scores(shared),
            "gold_document_only": scores(restricted),
            "misses_at_5": [q["id"] for q, r in zip(questions, shared, strict=True) if not r or r > 5],
            "ranks": {q["id"]: r for q, r in zip(questions, shared, strict=True)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, help="only the first N filings (and their questions)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--alpha", type=float, action="append",
                        help="hybrid weight for Lorag (repeatable; default: the preset's)")
    parser.add_argument("--named-boost", type=float, action="append",
                        help="how much named documents are preferred (repeatable; 0 = off; default: the preset's)")
    parser.add_argument("--heading-boost", type=float, action="append",
                        help="how much chunks under a heading the question names are preferred (repeatable; 0 = off)")
    parser.add_argument("--embedding-model", default=MODEL,
                        help="Lorag's embedding preset (default: %(default)s; the baseline always runs MiniLM fp32)")
    parser.add_argument("--chunk-size", type=int, help="Lorag's chunk size (default: the preset's)")
    parser.add_argument("--keep", type=Path, help="data folder to keep and reuse (default: a temporary one)")
    parser.add_argument("--embed-cache", type=Path, help="SQLite file of cached vectors (both pipelines)")
    parser.add_argument("--by-chunk", action="store_true",
                        help="also score Lorag's results one per chunk (as before distinct pages)")
    parser.add_argument("--no-section-names", action="store_true",
                        help="search without presets/rag/section-names.yaml (to measure what it adds)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-lorag", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.path.insert(0, str(ROOT))
    from engine.settings import Settings
    from engine.studio import Studio

    if args.no_section_names:
        from engine.rag import headings
        headings._group_names.cache_clear()
        headings._group_words.cache_clear()
        headings.load_presets = lambda kind: {}
    pdfs, questions = load_questions(args.docs)
    say(f"{len(pdfs)} filings, {len(questions)} questions")
    data = args.keep or Path(tempfile.mkdtemp(prefix="lorag-bench-quality-")) / "data"
    cache = VectorCache(args.embed_cache)
    studio = Studio(Settings(data_dir=data))
    studio.start()
    try:
        model = args.embedding_model
        embedder = studio.rag.embedders.get(model)
        backend = embedder.spec.preset.backend
        embedder.encode = cache.wrap(model if backend == "sentence-transformers" else f"{model}:{backend}",
                                     embedder.encode)
        base = None if args.skip_baseline else run_baseline(
            pdfs, questions, plain_encode(studio.rag.embedders.get(MODEL), cache), args.k, cache)
        say(f"baseline: {base}")
        lorag = None if args.skip_lorag else run_lorag(studio, pdfs, questions, args.k, args.alpha or [None],
                                                               args.chunk_size, args.by_chunk,
                                                               args.named_boost or [None], model,
                                                               args.heading_boost or [None])
        say(f"lorag: {lorag}")
    finally:
        studio.close()
    result = {"benchmark": "retrieval_quality", "data": "reports-dev", "filings": len(pdfs),
              "questions": len(questions), "embedder": args.embedding_model, "baseline_embedder": MODEL,
              "lorag_backend": backend, "k": args.k,
              "cpu_threads": os.cpu_count(),
              "default_alpha": studio.rag.defaults.alpha, "default_named_boost": studio.rag.defaults.named_boost,
              "default_heading_boost": studio.rag.defaults.heading_boost,
              "section_names": not args.no_section_names,
              "lorag": lorag, "baseline": base}
    if base and lorag:
        result["hit@5_points_over_baseline"] = {
            key: round(100 * (v["shared_collection"]["hit@5"] - base["shared_collection"]["hit@5"]), 1)
            for key, v in lorag.items() if isinstance(v, dict)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
