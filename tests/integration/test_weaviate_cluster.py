"""Three real weaviate-server nodes as one cluster (--weaviate-nodes 3): collections replicated on every node,
a node killed during an ingestion and during searches, the node restarted and caught up."""

from __future__ import annotations

import threading
import time

import pytest

from engine.jobs import Jobs
from engine.rag.service import RagService
from engine.store import Store
from engine.weaviate import connect
from engine.weaviate.cluster import ManagedCluster
from engine.weaviate.link import WeaviateLink
from engine.weaviate.status import probe
from tests.conftest import need_shared
from tests.support.rag import wait_for

pytestmark = pytest.mark.weaviate

QUESTION = "Which tokenizer vocabulary does Qwen3 use?"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    nodes = ManagedCluster(tmp_path_factory.mktemp("weaviate-cluster"), 3, timeout=120)
    nodes.start()
    nodes.wait_healthy(60)
    yield nodes
    nodes.stop()


@pytest.fixture(scope="module")
def rag(cluster, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster-rag")
    store = Store(folder / "lorag.sqlite")
    service = RagService(store, Jobs(store, folder / "jobs"), WeaviateLink(cluster), folder / "uploads",
                         folder / "models", max_upload_bytes=50 * 2**20)
    yield service
    service.close()
    store.close()


def node_counts(cluster: ManagedCluster) -> dict[str, int]:
    """Objects each node holds, as the cluster reports them (every node's copy of every shard)."""
    return {n.name: n.object_count for n in probe(cluster.endpoint, details=True).nodes}


def test_every_node_is_listed_and_a_collection_is_kept_on_three(cluster, rag):
    status = cluster.status()
    assert [n.name for n in status.nodes] == ["node0", "node1", "node2"]
    assert status.healthy_nodes == 3 and not status.degraded
    assert "nodes 3/3 healthy" in status.summary()
    current = rag.create_collection("replicated")
    assert (current.index.replicas, current.index.consistency) == (3, "QUORUM")
    with connect(cluster.endpoint) as client:
        config = client.collections.use(current.index.name).config.get()
    assert config.replication_config.factor == 3 and config.replication_config.async_enabled


def test_a_node_killed_during_ingestion_and_searches_loses_and_doubles_nothing(cluster, rag):
    report, geotopo = need_shared("pdfs", "Qwen3_Technical_Report.pdf"), need_shared("pdfs", "GeoTopo-komprimiert.pdf")
    current = rag.create_collection("failover")
    first = rag.jobs.wait(rag.ingest(current, [report]).id, 300)
    assert first.status == "completed", first.message
    before = rag.count(current)
    victim = cluster.nodes[2]

    searches, errors, stop = [], [], threading.Event()

    def search_all_along() -> None:
        while not stop.is_set():
            try:
                searches.append(rag.search(current, QUESTION, k=3))
            except Exception as exc:  # every failure is the test's business
                errors.append(repr(exc))
            time.sleep(0.2)

    searcher = threading.Thread(target=search_all_along, daemon=True)
    searcher.start()
    job = rag.ingest(current, [geotopo])
    wait_for(lambda: rag.count(current) > before or not rag.jobs.get(job.id).active, 300, 0.1)
    victim.process.kill()                               # mid-ingestion: some GeoTopo chunks are stored, not all
    victim.process.wait()
    done = rag.jobs.wait(job.id, 400)
    time.sleep(2)
    stop.set()
    searcher.join(120)

    assert done.status == "completed", done.message
    assert not errors, errors[:3]
    assert len(searches) > 5 and all(hits and hits[0].filename for hits in searches)
    assert cluster.status().degraded and "node2" in cluster.status().error
    stored = rag.collection(current)
    assert stored.documents == 2, [(f["name"], f.get("status"), f.get("error")) for f in done.result["files"]]
    made = sum(f["chunks"] for f in first.result["files"] + done.result["files"])
    assert rag.count(current) == stored.chunks == made
    with connect(cluster.endpoint) as client:
        ids = [str(o.uuid) for o in client.collections.use(current.index.name).iterator()]
    assert len(ids) == len(set(ids)) == stored.chunks    # no chunk lost, none doubled

    assert cluster.status().down_nodes == ["node2"]
    running = [n.process.pid for n in cluster.nodes[:2]]
    cluster.restart()         # the Settings button: starts node2 alone, with its ports and data, and it catches up
    assert [n.process.pid for n in cluster.nodes[:2]] == running
    cluster.wait_healthy(60)
    # node2 holds a copy of every chunk (factor 3 on 3 nodes); the first test's collection is empty
    wait_for(lambda: node_counts(cluster).get("node2") == stored.chunks, 240, 2.0)
    assert rag.count(current) == stored.chunks
    assert not cluster.status().degraded

