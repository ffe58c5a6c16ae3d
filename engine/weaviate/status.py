"""Where a Weaviate server is, and what state it is in (read over its REST API, no client needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlparse


@dataclass(frozen=True)
class WeaviateEndpoint:
    host: str
    http_port: int
    grpc_port: int
    api_key: str = ""
    secure: bool = False

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.http_port}"

    @classmethod
    def from_url(cls, url: str, grpc_port: int = 0, api_key: str = "") -> "WeaviateEndpoint":
        parsed = urlparse(url if "://" in url else f"http://{url}")
        secure = parsed.scheme == "https"
        port = parsed.port or (443 if secure else 8080)
        return cls(host=parsed.hostname or "127.0.0.1", http_port=port, grpc_port=grpc_port or 50051,
                   api_key=api_key, secure=secure)


@dataclass(frozen=True)
class NodeState:
    """One node as /v1/nodes reports it."""

    name: str
    status: str            # HEALTHY, UNHEALTHY, UNAVAILABLE, TIMEOUT, INDEXING
    object_count: int = 0
    shards: int = 0

    @property
    def healthy(self) -> bool:
        return self.status == "HEALTHY"


@dataclass
class WeaviateStatus:
    running: bool
    managed: bool
    url: str
    version: str = ""
    object_count: int | None = None
    ready: bool = False
    error: str = ""
    log_tail: str = ""
    nodes: list[NodeState] = field(default_factory=list)
    expected_nodes: int = 1  # how many nodes a managed cluster should have
    down_nodes: list[str] = field(default_factory=list)  # a managed cluster's nodes whose process is not running

    @property
    def cluster(self) -> bool:
        return max(len(self.nodes), self.expected_nodes) > 1

    @property
    def healthy_nodes(self) -> int:
        return sum(n.healthy for n in self.nodes)

    @property
    def degraded(self) -> bool:
        """A cluster with a node down or unhealthy (it still answers while a quorum of copies is up)."""
        return self.cluster and self.healthy_nodes < max(len(self.nodes), self.expected_nodes)

    def summary(self) -> str:
        where = "managed" if self.managed else "external"
        if not self.running:
            return f"Weaviate: down ({self.error or 'not running'})"
        count = f", {self.object_count} objects" if self.object_count is not None else ""
        return f"Weaviate {self.version}: running ({where}, {self.url}{count}){self.nodes_summary()}"

    def nodes_summary(self) -> str:
        """' · nodes 2/3 healthy: node0 HEALTHY, ...' for a cluster, '' for one node."""
        if not self.cluster:
            return ""
        listed = ", ".join(f"{n.name} {n.status}" for n in self.nodes)
        total = max(len(self.nodes), self.expected_nodes)
        return f" · nodes {self.healthy_nodes}/{total} healthy: {listed}"


def _get_json(endpoint: WeaviateEndpoint, path: str, timeout: float) -> tuple[int, object]:
    request = urllib.request.Request(endpoint.url + path)
    if endpoint.api_key:
        request.add_header("Authorization", f"Bearer {endpoint.api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


LIVE, HUNG, DOWN = "live", "hung", "down"


def liveness(endpoint: WeaviateEndpoint, timeout: float) -> str:
    """LIVE when the server answers its liveness check; HUNG when it takes the connection but does not answer
    within `timeout` s (running, but hung or overloaded); DOWN otherwise (refused, or an error answer)."""
    try:
        code, _ = _get_json(endpoint, "/v1/.well-known/live", timeout)
    except (OSError, ValueError) as exc:
        timed_out = isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)
        return HUNG if timed_out else DOWN
    return LIVE if code == 200 else DOWN


def probe(endpoint: WeaviateEndpoint, details: bool = False, timeout: float = 2.0) -> WeaviateStatus:
    """Ready check, plus version and object count when `details`."""
    status = WeaviateStatus(running=False, managed=False, url=endpoint.url)
    try:
        code, _ = _get_json(endpoint, "/v1/.well-known/ready", timeout)
        status.running = True
        status.ready = code == 200
        if not status.ready:
            status.error = f"not ready (HTTP {code})"
            return status
        if details:
            code, meta = _get_json(endpoint, "/v1/meta", timeout)
            if code == 401:
                status.error = "the API key was refused"
                return status
            status.version = (meta or {}).get("version", "")
            _, nodes = _get_json(endpoint, "/v1/nodes?output=verbose", timeout)
            status.nodes = [_node_state(node) for node in (nodes or {}).get("nodes", [])]
            # A replicated object is counted once per node that holds it: the total is what the nodes hold.
            status.object_count = sum(n.object_count for n in status.nodes)
    except (OSError, ValueError) as exc:
        status.running = False
        status.error = f"unreachable ({getattr(exc, 'reason', exc)})"
    return status


def _node_state(node: dict) -> NodeState:
    stats = node.get("stats") or {}
    return NodeState(name=node.get("name", "?"), status=node.get("status", "?"),
                     object_count=stats.get("objectCount", 0) or 0, shards=stats.get("shardCount", 0) or 0)


class RemoteWeaviate:
    """A Weaviate server that someone else runs (--weaviate-url)."""

    managed = False

    def __init__(self, url: str, grpc_port: int = 0, api_key: str = "") -> None:
        self.endpoint = WeaviateEndpoint.from_url(url, grpc_port, api_key)

    def start(self) -> WeaviateEndpoint:
        return self.endpoint

    def stop(self) -> None:
        pass

    def restart(self) -> WeaviateEndpoint:
        return self.endpoint

    @property
    def running(self) -> bool:
        return probe(self.endpoint).ready

    def status(self) -> WeaviateStatus:
        return probe(self.endpoint, details=True)
