"""N managed weaviate-server nodes on loopback that form one Weaviate cluster (--weaviate-nodes N).

Weaviate does the clustering itself: the nodes find each other by gossip (memberlist) and agree on the schema
through Raft, every node a voter; collections are replicated by Weaviate's own replication (a factor per
collection, a consistency level per request, repair on read and async replication). Lorag only starts the
processes with the right ports and peers, and talks to the first node that runs.

Folder layout: the first node is the single server's folder (data/weaviate/, so a studio that grows from one
node to three keeps its data on node0); node k lives in data/weaviate/nodes/node<k>/. All nodes share the
first node's secrets.json and backups/.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from engine.errors import LoragError
from engine.settings import MAX_WEAVIATE_NODES as MAX_NODES
from engine.weaviate.server import SINGLE_NODE, ManagedWeaviate, Membership, Ports
from engine.weaviate.status import NodeState, WeaviateEndpoint, WeaviateStatus, probe

log = logging.getLogger(__name__)


def node_name(index: int) -> str:
    return SINGLE_NODE if index == 0 else f"node{index}"


def node_folder(folder: Path, index: int) -> Path:
    return Path(folder) if index == 0 else Path(folder) / "nodes" / node_name(index)


def memberships(ports: list[Ports]) -> list[Membership]:
    """Every node joins every other as a Raft voter; gossip goes through the first node."""
    raft_join = ",".join(f"{node_name(i)}:{p.raft}" for i, p in enumerate(ports))
    first = f"127.0.0.1:{ports[0].gossip}"
    return [Membership(node_name(i), raft_join, "" if i == 0 else first, len(ports)) for i in range(len(ports))]


def overlapping(ports: list[Ports]) -> int | None:
    """The index of the first node whose ports another node before it already uses, else None."""
    seen: set[int] = set()
    for i, p in enumerate(ports):
        if seen & set(p.all()):
            return i
        seen |= set(p.all())
    return None


class ManagedCluster:
    """Start, watch and stop `nodes` weaviate-server processes as one cluster; looks like one ManagedWeaviate to
    the rest of the studio (endpoint, running, status, restart)."""

    managed = True

    def __init__(self, folder: Path, nodes: int, binary: Path | None = None, timeout: float = 90.0,
                 api_key: str = "") -> None:
        if not 2 <= nodes <= MAX_NODES:
            raise LoragError(f"A managed cluster has 2 to {MAX_NODES} nodes, not {nodes}.",
                             key="documents.cluster_size", params={"most": MAX_NODES, "nodes": nodes})
        self.folder = Path(folder)
        self.timeout = timeout
        self.nodes = [ManagedWeaviate(node_folder(folder, i), binary=binary, timeout=timeout, api_key=api_key,
                                      secrets_path=self.folder / "secrets.json",
                                      backups_path=self.folder / "backups") for i in range(nodes)]

    # --- what the studio asks of a server ----------------------------------------------------------------
    @property
    def entry(self) -> ManagedWeaviate:
        """The node clients talk to: the first one that runs (any node answers for the whole cluster)."""
        return next((n for n in self.nodes if n.running), self.nodes[0])

    @property
    def endpoint(self) -> WeaviateEndpoint:
        return self.entry.endpoint

    @property
    def process(self):
        """The entry node's process: clients reconnect when it changes (engine.weaviate.link.identity)."""
        return self.entry.process

    @property
    def api_key(self) -> str:
        return self.nodes[0].api_key

    @property
    def ports(self) -> Ports | None:
        return self.entry.ports

    @property
    def backups_path(self) -> Path:
        return self.nodes[0].backups_path

    @property
    def running(self) -> bool:
        return any(n.running for n in self.nodes)

    def start(self) -> WeaviateEndpoint:
        if all(n.running for n in self.nodes):
            return self.endpoint
        self.stop()
        self._prepare()
        for node in self.nodes:
            node.spawn()
        try:
            for node in self.nodes:
                node.wait_ready()
        except LoragError:
            self.stop()
            raise
        log.info("Weaviate cluster of %d nodes ready", len(self.nodes))
        return self.endpoint

    def _prepare(self) -> None:
        for _attempt in range(10):
            ports = [node.prepare() for node in self.nodes]
            clash = overlapping(ports)
            if clash is None:
                for node, membership in zip(self.nodes, memberships(ports), strict=True):
                    node.membership = membership
                return
            (self.nodes[clash].folder / "ports.json").unlink(missing_ok=True)
        raise LoragError("Could not find free ports on 127.0.0.1 for every Weaviate node.",
                         key="documents.weaviate_no_node_ports")

    def stop(self, timeout: float = 20.0) -> None:
        for node in reversed(self.nodes):
            node.stop(timeout)

    def restart(self) -> WeaviateEndpoint:
        """Start the nodes that are down while the others run (no pause for the searches), else all of them."""
        down = [i for i, n in enumerate(self.nodes) if not n.running]
        if down and len(down) < len(self.nodes) and all(n.membership for n in self.nodes):
            for index in down:
                self.start_node(index)
            return self.endpoint
        self.stop()
        return self.start()

    # --- one node (failover tests, a node that died) --------------------------------------------------------
    def start_node(self, index: int) -> None:
        """Start one stopped node again with its ports and peers; it rejoins and catches up by itself."""
        node = self.nodes[index]
        if node.running:
            return
        if node.membership is None:
            raise LoragError("Start the whole cluster first.", key="documents.cluster_not_started")
        node.spawn()
        node.wait_ready()

    def wait_healthy(self, timeout: float | None = None) -> list[NodeState]:
        """Until every node reports HEALTHY to the entry node; the node states at the end."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            states = probe(self.endpoint, details=True).nodes
            if len(states) == len(self.nodes) and all(s.healthy for s in states):
                return states
            if time.monotonic() > deadline:
                raise LoragError(f"The Weaviate cluster did not become healthy: {states}",
                                 key="documents.cluster_unhealthy", params={"states": states})
            time.sleep(0.5)

    def status(self) -> WeaviateStatus:
        down = [node_name(i) for i, n in enumerate(self.nodes) if not n.running]
        if len(down) == len(self.nodes):
            status = self.nodes[0].status()
            status.error = status.error or "stopped"
            return status
        status = self.entry.status()
        status.expected_nodes, status.down_nodes = len(self.nodes), down
        if down:
            status.error = f"node(s) down: {', '.join(down)}; restart Weaviate from Settings"
        return status

    def log_tail(self, lines: int = 20) -> str:
        return self.entry.log_tail(lines)

    def other_server_pid(self) -> int | None:
        return self.nodes[0].other_server_pid()

    def attach(self) -> bool:
        """Talk to the cluster a running studio started on this folder (via its first node)."""
        return self.nodes[0].attach()
