"""A 3-node Weaviate cluster against one node, in the same run: indexing time and search latency, and the
cluster's latency with one node down.

    python -m bench.cluster [--nodes 3] [--queries 60]

Each side is a real Studio with its own data folder (temporary) and managed Weaviate: one node, or
`--nodes` nodes with collections replicated on min(3, nodes) at QUORUM. The same PDFs (the Qwen3 report and
GeoTopo from ../shared/pdfs) are indexed by the real job on each; then the same queries run through
studio.rag.search (end to end: query embedding + hybrid in Weaviate) and through Weaviate's hybrid alone with the
query vectors fixed. Last, one cluster node is killed and the queries run again.

Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, SHARED  # noqa: F401  (sets the quiet offline environment)
from bench.retrieval import QUESTIONS, stats, timed

PDFS = ("Qwen3_Technical_Report.pdf", "GeoTopo-komprimiert.pdf")
COLLECTION = "bench-cluster"

log = logging.getLogger("bench.cluster")


def index_pdfs(studio) -> dict:
    rag = studio.rag
    current = rag.create_collection(COLLECTION)
    rag.embedders.get(current.index.model).encode(["warm-up"])  # both sides index with the model loaded
    started = time.perf_counter()
    job = studio.jobs.wait(rag.ingest(COLLECTION, [SHARED / "pdfs" / name for name in PDFS]).id, 3600)
    if job.status != "completed":
        raise SystemExit(f"indexing failed: {job.message}")
    current = rag.collection(COLLECTION)
    return {"ingest_s": round(time.perf_counter() - started, 1), "chunks": rag.count(COLLECTION),
            "replicas": current.index.replicas, "consistency": current.index.consistency}


def latencies(studio, queries: list[str], k: int) -> dict:
    rag = studio.rag
    current = rag.collection(COLLECTION)
    embedder = rag.embedders.get(current.index.model)
    rag.search(COLLECTION, "warm-up", k=k)
    end_to_end, _ = timed(lambda q: rag.search(COLLECTION, q, k=k), queries)
    vectors = {q: embedder.encode([q], query=True)[0] for q in queries}
    index = rag.index_of(current)
    alpha = rag.collections.defaults.alpha
    hybrid, _ = timed(lambda q: index.hybrid(q, vectors[q], k, alpha), queries)
    return {"search_end_to_end": stats(end_to_end), "hybrid_in_weaviate": stats(hybrid)}


def side(settings_kw: dict, queries: list[str], k: int, kill_one: bool) -> dict:
    from engine.settings import Settings
    from engine.studio import Studio

    with tempfile.TemporaryDirectory(prefix="lorag-bench-cluster-") as folder:
        studio = Studio(Settings(data_dir=Path(folder), **settings_kw))
        started = time.perf_counter()
        studio.start()
        try:
            result = {"start_s": round(time.perf_counter() - started, 1), **index_pdfs(studio)}
            log.info("%s: %s", settings_kw, result)
            result.update(latencies(studio, queries, k))
            if kill_one:
                victim = studio.weaviate.nodes[-1]
                victim.process.kill()
                victim.process.wait()
                log.info("killed the last node; searching again")
                result["one_node_down"] = latencies(studio, queries, k)
                result["one_node_down"]["count"] = studio.rag.count(COLLECTION)
        finally:
            studio.close()
    return result


def ratio(cluster: dict, single: dict, part: str, key: str) -> float:
    return round(cluster[part][key] / single[part][key], 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--queries", type=int, default=60, help="the questions of bench.retrieval, repeated")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "weaviate", "engine.weaviate.server", "engine.weaviate.cluster", "engine.rag.ingest"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.path.insert(0, str(ROOT))

    queries = (QUESTIONS * (args.queries // len(QUESTIONS) + 1))[:args.queries]
    single = side({}, queries, args.k, kill_one=False)
    cluster = side({"weaviate_nodes": args.nodes}, queries, args.k, kill_one=True)
    result = {"benchmark": "cluster", "nodes": args.nodes, "pdfs": list(PDFS), "queries": len(queries),
              "k": args.k, "single_node": single, "cluster": cluster,
              "cluster_vs_single": {
                  "ingest_time": round(cluster["ingest_s"] / single["ingest_s"], 2),
                  "search_p50": ratio(cluster, single, "search_end_to_end", "p50_ms"),
                  "search_p95": ratio(cluster, single, "search_end_to_end", "p95_ms"),
                  "hybrid_p50": ratio(cluster, single, "hybrid_in_weaviate", "p50_ms"),
                  "hybrid_p95": ratio(cluster, single, "hybrid_in_weaviate", "p95_ms"),
                  "one_node_down_search_p50": round(cluster["one_node_down"]["search_end_to_end"]["p50_ms"]
                                                    / single["search_end_to_end"]["p50_ms"], 2)},
              "count_exact_with_one_node_down": cluster["one_node_down"]["count"] == single["chunks"]}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
